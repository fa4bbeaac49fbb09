// Accessibility checks run in the page by the UI test: returns a list of problems (empty
// when none). The first keyboard stop is the skip link; form controls need a label,
// buttons and links a name, images a text alternative, and visible text a contrast of at least 4.5:1 (WCAG AA for normal text)
// against the background it is drawn on.

const problems = [];
const describe = (el) => {
  const id = el.id ? `#${el.id}` : "";
  const cls = el.className && typeof el.className === "string" ? `.${el.className.split(" ").join(".")}` : "";
  return `<${el.tagName.toLowerCase()}${id}${cls}> "${(el.textContent || "").trim().slice(0, 40)}"`;
};
const visible = (el) => {
  const r = el.getBoundingClientRect();
  const s = getComputedStyle(el);
  return r.width > 1 && r.height > 1 && s.visibility !== "hidden" && s.display !== "none";
};

for (const el of document.querySelectorAll("input, select, textarea")) {
  if (el.type === "hidden" || !visible(el)) continue;
  const named = el.labels?.length || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby");
  if (!named) problems.push(`control without a label: ${describe(el)}`);
}
for (const el of document.querySelectorAll("button, a[href]")) {
  if (!visible(el)) continue;
  if (!(el.textContent || "").trim() && !el.getAttribute("aria-label")) {
    problems.push(`button or link without a name: ${describe(el)}`);
  }
}
const focusable = document.querySelector("a[href], button, input, select, textarea, [tabindex]:not([tabindex='-1'])");
if (!focusable?.classList.contains("skip")) {
  problems.push(`the first keyboard stop is not the skip link: ${focusable && describe(focusable)}`);
}
for (const el of document.querySelectorAll("img")) {
  if (!el.hasAttribute("alt")) problems.push(`image without alt: ${describe(el)}`);
}

const rgba = (s) => {
  const m = s.match(/rgba?\(([^)]+)\)/);
  if (!m) return [0, 0, 0, 0];
  const [r, g, b, a = "1"] = m[1].split(/[ ,/]+/).filter(Boolean);
  return [Number(r), Number(g), Number(b), Number(a)];
};
const over = (top, bottom) => {
  const a = top[3];
  return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat(1);
};
// The colour an element's background shows: its layers composed over the page's white.
const background = (el) => {
  const layers = [];
  for (let e = el; e; e = e.parentElement) {
    const c = rgba(getComputedStyle(e).backgroundColor);
    if (c[3] > 0) layers.push(c);
    if (c[3] >= 1) break;
  }
  return layers.reverse().reduce((acc, c) => over(c, acc), [255, 255, 255, 1]);
};
const luminance = ([r, g, b]) => {
  const lin = (v) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
};
const contrast = (a, b) => {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
};

const seen = new Set();
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  const el = n.parentElement;
  if (!n.textContent.trim() || !el || seen.has(el) || !visible(el)) continue;
  if (el.closest(".sr-only, .skip, [disabled], option")) continue;
  seen.add(el);
  const style = getComputedStyle(el);
  const bg = background(el);
  const fg = over(rgba(style.color), bg);
  const ratio = contrast(fg, bg);
  if (ratio < 4.5) problems.push(`contrast ${ratio.toFixed(2)}:1 for ${describe(el)}`);
}
return problems;
