//! A recursive-descent parser from tokens to an expression tree (precedence: `or` < `and` <
//! `not`).

use regex::Regex;

use super::lex::{Kind, Token};
use super::{Expr, FilterError, Match, Op, syntax};

pub(super) struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    end: usize,
}

impl Parser {
    pub(super) fn new(tokens: Vec<Token>, end: usize) -> Self {
        Self {
            tokens,
            pos: 0,
            end,
        }
    }

    /// The whole expression: anything left over is an error.
    pub(super) fn expression(&mut self) -> Result<Expr, FilterError> {
        let expr = self.or_expr()?;
        match self.peek() {
            None => Ok(expr),
            Some(t) => Err(syntax(t.at, format!("unexpected {}", t.kind))),
        }
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_word(&self, offset: usize) -> Option<&str> {
        match self.tokens.get(self.pos + offset).map(|t| &t.kind) {
            Some(Kind::Word(w)) => Some(w.as_str()),
            _ => None,
        }
    }

    fn next(&mut self, expected: &str) -> Result<Token, FilterError> {
        match self.tokens.get(self.pos).cloned() {
            Some(t) => {
                self.pos += 1;
                Ok(t)
            }
            None => Err(syntax(
                self.end,
                format!("unexpected end of expression, expected {expected}"),
            )),
        }
    }

    fn eat_word(&mut self, word: &str) -> bool {
        if self.peek_word(0) == Some(word) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_word(&mut self, word: &str) -> Result<(), FilterError> {
        let t = self.next(&format!("{word:?}"))?;
        match &t.kind {
            Kind::Word(w) if w == word => Ok(()),
            other => Err(syntax(t.at, format!("expected {word:?}, found {other}"))),
        }
    }

    fn or_expr(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.and_expr()?;
        while self.eat_word("or") {
            left = Expr::Or(Box::new(left), Box::new(self.and_expr()?));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.unary()?;
        while self.eat_word("and") {
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        if self.eat_word("not") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if matches!(self.peek().map(|t| &t.kind), Some(Kind::LParen)) {
            self.pos += 1;
            let inner = self.or_expr()?;
            let t = self.next("\")\"")?;
            if t.kind != Kind::RParen {
                return Err(syntax(t.at, format!("expected \")\", found {}", t.kind)));
            }
            return Ok(inner);
        }
        self.match_expr()
    }

    /// One match: `Selector op ...` or `Value [not] in Selector`.
    fn match_expr(&mut self) -> Result<Expr, FilterError> {
        let first = self.next("a selector or value")?;
        let value_first = match &first.kind {
            Kind::Str(s) | Kind::Number(s) => Some(s.clone()),
            Kind::Word(w) if self.peek_word(0) == Some("in") => Some(w.clone()),
            Kind::Word(w)
                if self.peek_word(0) == Some("not") && self.peek_word(1) == Some("in") =>
            {
                Some(w.clone())
            }
            Kind::Word(_) => None,
            other => {
                return Err(syntax(
                    first.at,
                    format!("expected a selector or value, found {other}"),
                ));
            }
        };
        if let Some(value) = value_first {
            let negated = self.eat_word("not");
            self.expect_word("in")?;
            let selector = self.selector()?;
            return Ok(Expr::Match(Match {
                selector,
                op: Op::In(value),
                negated,
            }));
        }
        self.pos -= 1;
        let selector = self.selector()?;
        self.operator(selector)
    }

    fn operator(&mut self, selector: Vec<String>) -> Result<Expr, FilterError> {
        let t = self.next("an operator")?;
        let (op, negated) = match &t.kind {
            Kind::Eq => (Op::Equal(self.value()?), false),
            Kind::Ne => (Op::Equal(self.value()?), true),
            Kind::Word(w) if w == "is" => {
                let negated = self.eat_word("not");
                self.expect_word("empty")?;
                (Op::IsEmpty, negated)
            }
            Kind::Word(w) if w == "contains" => (Op::In(self.value()?), false),
            Kind::Word(w) if w == "matches" => (self.regex()?, false),
            Kind::Word(w) if w == "not" => {
                let t2 = self.next("\"contains\" or \"matches\"")?;
                match &t2.kind {
                    Kind::Word(w) if w == "contains" => (Op::In(self.value()?), true),
                    Kind::Word(w) if w == "matches" => (self.regex()?, true),
                    other => {
                        return Err(syntax(
                            t2.at,
                            format!("expected \"contains\" or \"matches\", found {other}"),
                        ));
                    }
                }
            }
            other => {
                return Err(syntax(
                    t.at,
                    format!(
                        "expected an operator (==, !=, is, contains, matches, not), found {other}"
                    ),
                ));
            }
        };
        Ok(Expr::Match(Match {
            selector,
            op,
            negated,
        }))
    }

    fn regex(&mut self) -> Result<Op, FilterError> {
        let at = self.peek().map(|t| t.at).unwrap_or(self.end);
        let raw = self.value()?;
        Regex::new(&raw)
            .map(Op::Matches)
            .map_err(|e| syntax(at, format!("invalid regular expression {raw:?}: {e}")))
    }

    fn value(&mut self) -> Result<String, FilterError> {
        let t = self.next("a value")?;
        match t.kind {
            Kind::Str(s) | Kind::Number(s) | Kind::Word(s) => Ok(s),
            other => Err(syntax(t.at, format!("expected a value, found {other}"))),
        }
    }

    fn selector(&mut self) -> Result<Vec<String>, FilterError> {
        let t = self.next("a selector")?;
        let Kind::Word(first) = t.kind else {
            return Err(syntax(
                t.at,
                format!("expected a selector, found {}", t.kind),
            ));
        };
        let mut path = vec![first];
        loop {
            match self.peek().map(|t| &t.kind) {
                Some(Kind::Dot) => {
                    self.pos += 1;
                    let t = self.next("a field name")?;
                    match t.kind {
                        Kind::Word(w) | Kind::Number(w) => path.push(w),
                        other => {
                            return Err(syntax(
                                t.at,
                                format!("expected a field name, found {other}"),
                            ));
                        }
                    }
                }
                Some(Kind::LBracket) => {
                    self.pos += 1;
                    let t = self.next("a quoted key")?;
                    let Kind::Str(key) = t.kind else {
                        return Err(syntax(
                            t.at,
                            format!("expected a quoted key, found {}", t.kind),
                        ));
                    };
                    let close = self.next("\"]\"")?;
                    if close.kind != Kind::RBracket {
                        return Err(syntax(
                            close.at,
                            format!("expected \"]\", found {}", close.kind),
                        ));
                    }
                    path.push(key);
                }
                _ => return Ok(path),
            }
        }
    }
}
