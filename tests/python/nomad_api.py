"""Drives a nomadish agent with python-nomad, the Nomad API client Python tools are built on.

Started by tests/tests/python_nomad.rs against a real agent with ACLs enabled and not yet
bootstrapped (NOMAD_ADDR). Every call goes through python-nomad unchanged; each step checks the
fields Nomad's documentation shows for that response. Prints one line per step and exits 1 on
the first failure, naming the step and what was wrong.
"""

import os
import queue
import sys
import time

import nomad
from nomad.api import exceptions

ADDR = os.environ["NOMAD_ADDR"]
DEADLINE = 40  # seconds any single wait may take

SERVICE_JOB = """
job "py-web" {
  group "g" {
    update {
      max_parallel     = 1
      canary           = 1
      min_healthy_time = "1s"
      healthy_deadline = "30s"
      auto_promote     = false
    }
    task "web" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo hello from python-nomad; while true; do sleep 0.2; done"]
      }
      meta {
        version = "1"
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"""

BATCH_JOB = """
job "py-batch" {
  type = "batch"
  parameterized {
    meta_optional = ["who"]
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo dispatched"]
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"""

PERIODIC_JOB = """
job "py-cron" {
  type = "batch"
  periodic {
    crons            = ["0 0 1 1 *"]
    prohibit_overlap = true
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo forced"]
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"""


class Failed(Exception):
    """A step's check failed."""


def step(name):
    """Prints the step being run."""
    print(f"--- {name}", flush=True)


def need(cond, what):
    """Fails the current step unless `cond`."""
    if not cond:
        raise Failed(what)


def has(obj, *fields):
    """Fails unless the dict `obj` has every field."""
    need(isinstance(obj, dict), f"expected an object, got {obj!r:.300}")
    missing = [f for f in fields if f not in obj]
    need(not missing, f"missing fields {missing} in {sorted(obj)}")


def wait_for(what, fn):
    """Polls `fn` until it returns something truthy, for at most DEADLINE seconds."""
    end = time.monotonic() + DEADLINE
    last = None
    while time.monotonic() < end:
        try:
            last = fn()
        except exceptions.BaseNomadException as e:
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.2)
    raise Failed(f"timed out waiting for {what}; last: {last!r:.500}")


def running_allocs(n, job_id):
    """The job's running allocations."""
    allocs = n.job.get_allocations(job_id)
    return [a for a in allocs if a["ClientStatus"] == "running"]


def register(n, hcl):
    """Parses HCL through the API and registers the JSON job; returns (job, response)."""
    job = n.jobs.parse(hcl)
    has(job, "ID", "Name", "Type", "TaskGroups", "Datacenters")
    resp = n.jobs.register_job({"Job": job})
    has(resp, "EvalID", "EvalCreateIndex", "JobModifyIndex", "Index")
    return job, resp


def acl(anon):
    """Bootstrap, then policies and tokens; returns a management client."""
    step("acl bootstrap")
    boot = anon.acl.generate_bootstrap()
    has(boot, "AccessorID", "SecretID", "Name", "Type", "Policies", "Global", "CreateTime")
    need(boot["Type"] == "management", f"bootstrap token type {boot['Type']}")
    n = nomad.Nomad(address=ADDR, token=boot["SecretID"], timeout=10)
    try:
        anon.jobs.get_jobs()
        raise Failed("an anonymous job list was allowed with ACLs on")
    except exceptions.URLNotAuthorizedNomadException:
        pass

    step("acl policies")
    rules = 'namespace "default" {\n  policy = "read"\n}\n'
    n.acl.create_policy("py-readers", {"Name": "py-readers", "Description": "d", "Rules": rules})
    names = [p["Name"] for p in n.acl.get_policies()]
    need("py-readers" in names, f"policy list {names}")
    pol = n.acl.get_policy("py-readers")
    has(pol, "Name", "Description", "Rules", "CreateIndex", "ModifyIndex")
    need(pol["Rules"] == rules, f"rules came back as {pol['Rules']!r}")
    try:
        n.acl.create_policy("py-bad", {"Name": "py-bad", "Rules": 'namespace "x" { policy = "own" }'})
        raise Failed("an invalid policy was accepted")
    except exceptions.BadRequestNomadException:
        pass

    step("acl tokens")
    tok = n.acl.create_token({"Name": "py-reader", "Type": "client", "Policies": ["py-readers"]})
    has(tok, "AccessorID", "SecretID", "Name", "Type", "Policies", "CreateIndex")
    listed = [t["AccessorID"] for t in n.acl.get_tokens()]
    need(tok["AccessorID"] in listed, "the new token is not listed")
    got = n.acl.get_token(tok["AccessorID"])
    need(got["Policies"] == ["py-readers"], f"token policies {got['Policies']}")
    reader = nomad.Nomad(address=ADDR, token=tok["SecretID"], timeout=10)
    me = reader.acl.get_self_token()
    need(me["AccessorID"] == tok["AccessorID"], "token/self names another token")
    updated = n.acl.update_token(
        tok["AccessorID"],
        {"AccessorID": tok["AccessorID"], "Name": "py-reader-2", "Type": "client", "Policies": ["py-readers"]},
    )
    need(updated["Name"] == "py-reader-2", f"updated name {updated['Name']}")
    need(n.acl.delete_token(tok["AccessorID"]), "token delete")
    try:
        reader.acl.get_self_token()
        raise Failed("a deleted token still works")
    except (exceptions.URLNotAuthorizedNomadException, exceptions.URLNotFoundNomadException):
        pass
    need(n.acl.delete_policy("py-readers"), "policy delete")
    return n


def cluster(n):
    """Namespaces, status, agent and operator reads; returns the ready node's ID."""
    step("namespaces")
    n.namespace.create_namespace({"Name": "py-team", "Description": "from python"})
    names = [ns["Name"] for ns in n.namespaces.get_namespaces()]
    need({"default", "py-team"} <= set(names), f"namespaces {names}")
    ns = n.namespace.get_namespace("py-team")
    has(ns, "Name", "Description", "CreateIndex", "ModifyIndex")
    n.namespace.delete_namespace("py-team")
    need("py-team" not in [x["Name"] for x in n.namespaces.get_namespaces()], "namespace not deleted")

    step("status leader and peers")
    leader = n.status.leader.get_leader()
    need(isinstance(leader, str) and ":" in leader, f"leader {leader!r}")
    peers = n.status.peers.get_peers()
    need(leader in peers, f"leader {leader} not among peers {peers}")

    step("agent self and members")
    me = n.agent.get_agent()
    has(me, "config", "member", "stats")
    members = n.agent.get_members()
    has(members, "ServerName", "ServerRegion", "ServerDC", "Members")
    need(len(members["Members"]) == 1, f"members {members['Members']}")
    has(members["Members"][0], "Name", "Addr", "Port", "Status", "Tags")

    step("operator raft configuration")
    conf = n.operator.get_configuration()
    has(conf, "Servers", "Index")
    has(conf["Servers"][0], "ID", "Node", "Address", "Leader", "Voter", "RaftProtocol")

    step("nodes")
    nodes = wait_for("a ready node", lambda: [x for x in n.nodes.get_nodes() if x["Status"] == "ready"])
    has(nodes[0], "ID", "Name", "Datacenter", "NodeClass", "Status", "SchedulingEligibility", "Drain")
    node = n.node.get_node(nodes[0]["ID"])
    has(node, "ID", "Attributes", "NodeResources", "ReservedResources", "Drivers", "Status")
    need(not node.get("SecretID"), "a node read shows the node's secret")
    return nodes[0]["ID"]


def service_job(n):
    """Register, read, logs, update with a canary, plan, promote, revert, evaluate."""
    step("job register from JSON")
    job, resp = register(n, SERVICE_JOB)
    ev = n.evaluation.get_evaluation(resp["EvalID"])
    has(ev, "ID", "JobID", "Status", "TriggeredBy", "Type", "Priority")
    need(ev["JobID"] == "py-web", f"eval for {ev['JobID']}")

    step("jobs list and job read")
    stubs = n.jobs.get_jobs()
    has(stubs[0], "ID", "Name", "Type", "Status", "JobSummary", "Priority")
    need("py-web" in [s["ID"] for s in stubs], "py-web not listed")
    full = n.job.get_job("py-web")
    has(full, "ID", "TaskGroups", "Version", "Status", "JobModifyIndex")
    has(n.job.get_summary("py-web"), "JobID", "Summary", "Children")

    allocs = wait_for("a running py-web allocation", lambda: running_allocs(n, "py-web"))
    alloc_id = allocs[0]["ID"]

    step("evaluations and allocations")
    evals = n.evaluations.get_evaluations()
    need(resp["EvalID"] in [e["ID"] for e in evals], "the eval is not listed")
    need(alloc_id in [a["ID"] for a in n.evaluation.get_allocations(resp["EvalID"])], "eval allocations")
    need(alloc_id in [a["ID"] for a in n.allocations.get_allocations()], "allocations list")
    alloc = n.allocation.get_allocation(alloc_id)
    has(alloc, "ID", "EvalID", "NodeID", "JobID", "Job", "TaskGroup", "TaskStates", "ClientStatus", "DesiredStatus")

    step("logs")
    logs = wait_for(
        "the task's line in its logs",
        lambda: "hello from python-nomad"
        in n.client.stream_logs.stream(alloc_id, "web", "stdout", plain=True),
    )
    need(logs, "no log line")

    step("update with a canary: versions and plan")
    job["TaskGroups"][0]["Tasks"][0]["Meta"] = {"version": "2"}
    plan = n.job.plan_job("py-web", {"Job": job}, diff=True)
    has(plan, "Diff", "Annotations", "JobModifyIndex", "Index")
    need(plan["Diff"]["Type"] == "Edited", f"plan diff type {plan['Diff']['Type']}")
    n.jobs.register_job({"Job": job})
    versions = n.job.get_versions("py-web")
    has(versions, "Versions")
    need(sorted(v["Version"] for v in versions["Versions"]) == [0, 1], "versions 0 and 1")

    step("deployments list and promote")

    def waiting_canary():
        d = n.job.get_deployment("py-web")
        if not d or d["JobVersion"] != 1:
            return None
        tg = d["TaskGroups"]["g"]
        return d if tg["DesiredCanaries"] == 1 and tg["HealthyAllocs"] >= 1 else None

    dep = wait_for("a healthy canary", waiting_canary)
    need(dep["ID"] in [d["ID"] for d in n.deployments.get_deployments()], "deployment list")
    has(n.deployment.get_deployment(dep["ID"]), "ID", "JobID", "Status", "TaskGroups")
    promoted = n.deployment.promote_deployment_all(dep["ID"])
    has(promoted, "EvalID", "DeploymentModifyIndex", "Index")
    wait_for(
        "the deployment to succeed",
        lambda: n.deployment.get_deployment(dep["ID"])["Status"] == "successful",
    )

    step("revert and evaluate")
    reverted = n.job.revert_job("py-web", 0)
    has(reverted, "EvalID", "JobModifyIndex")
    need(n.job.get_job("py-web")["Version"] == 2, "revert made version 2")
    evaluated = n.job.evaluate_job("py-web")
    has(evaluated, "EvalID", "EvalCreateIndex", "JobModifyIndex")
    wait_for(
        "the forced evaluation to complete",
        lambda: n.evaluation.get_evaluation(evaluated["EvalID"])["Status"] == "complete",
    )
    return alloc_id


def batch_jobs(n):
    """Dispatch a parameterized job and force a periodic one."""
    step("dispatch")
    register(n, BATCH_JOB)
    disp = n.job.dispatch_job("py-batch", meta={"who": "python"})
    has(disp, "DispatchedJobID", "EvalID", "EvalCreateIndex", "JobCreateIndex", "Index")
    need(disp["DispatchedJobID"].startswith("py-batch/dispatch-"), f"child {disp['DispatchedJobID']}")
    child = n.job.get_job(disp["DispatchedJobID"])
    need(child["Meta"]["who"] == "python", f"child meta {child['Meta']}")

    step("periodic force")
    register(n, PERIODIC_JOB)
    forced = n.job.periodic_job("py-cron")
    has(forced, "EvalID", "EvalCreateIndex", "Index")
    wait_for(
        "a launched py-cron child",
        lambda: [j for j in n.jobs.get_jobs(prefix="py-cron/periodic-")],
    )


def variables(n):
    """Variables with check-and-set."""
    step("variables with CAS")
    v = n.variable.create_variable("py/config", {"Items": {"user": "alice"}}, cas=0)
    has(v, "Namespace", "Path", "Items", "CreateIndex", "ModifyIndex")
    try:
        n.variable.create_variable("py/config", {"Items": {"user": "mallory"}}, cas=v["ModifyIndex"] - 1)
        raise Failed("a stale cas write was accepted")
    except exceptions.VariableConflict:
        pass
    v2 = n.variable.create_variable("py/config", {"Items": {"user": "bob"}}, cas=v["ModifyIndex"])
    need(v2["ModifyIndex"] > v["ModifyIndex"], "the cas write did not move ModifyIndex")
    need(n.variable.get_variable("py/config")["Items"] == {"user": "bob"}, "read back")
    listed = n.variables.get_variables(prefix="py/")
    need([x["Path"] for x in listed] == ["py/config"], f"variables list {listed}")
    need("Items" not in listed[0], "the list leaks items")
    n.variable.delete_variable("py/config", cas=v2["ModifyIndex"])
    need(n.variables.get_variables(prefix="py/") == [], "variable not deleted")


def node_controls(n, node_id, alloc_id):
    """Allocation stop, eligibility, drain."""
    step("allocation stop")
    stopped = n.allocation.stop_allocation(alloc_id)
    has(stopped, "EvalID", "Index")
    wait_for(
        "the stopped allocation to be replaced",
        lambda: [a for a in running_allocs(n, "py-web") if a["ID"] != alloc_id],
    )

    step("node eligibility")
    r = n.node.eligible_node(node_id, ineligible=True)
    has(r, "NodeModifyIndex", "Index")
    need(n.node.get_node(node_id)["SchedulingEligibility"] == "ineligible", "still eligible")
    n.node.eligible_node(node_id, eligible=True)
    need(n.node.get_node(node_id)["SchedulingEligibility"] == "eligible", "not eligible again")

    step("node drain")
    r = n.node.drain_node_with_spec(node_id, {"Deadline": 10_000_000_000, "IgnoreSystemJobs": False})
    has(r, "NodeModifyIndex", "Index")
    drained = n.node.get_node(node_id)
    need(drained["DrainStrategy"] is not None, "no drain strategy")
    need(drained["SchedulingEligibility"] == "ineligible", "a draining node is still eligible")
    n.node.drain_node_with_spec(node_id, None, mark_eligible=True)
    node = n.node.get_node(node_id)
    need(node["DrainStrategy"] is None and node["SchedulingEligibility"] == "eligible", "drain not off")


def events_and_deregister(n):
    """Event stream around a deregistration (stop), then deregister with purge."""
    step("event stream and deregister")
    stream, stop, events = n.event.stream.get_stream(topic=["Job:*"], timeout=60)
    stream.daemon = True
    stream.start()
    time.sleep(0.5)
    dereg = n.job.deregister_job("py-web")
    has(dereg, "EvalID", "EvalCreateIndex", "JobModifyIndex")
    end = time.monotonic() + DEADLINE
    seen = []
    while time.monotonic() < end:
        try:
            batch = events.get(timeout=1)
        except queue.Empty:
            continue
        has(batch, "Index", "Events")
        for e in batch["Events"]:
            has(e, "Topic", "Type", "Key", "Namespace", "FilterKeys", "Index", "Payload")
            seen.append((e["Topic"], e["Type"], e["Key"]))
        if ("Job", "JobDeregistered", "py-web") in seen:
            break
    stop.set()
    need(("Job", "JobDeregistered", "py-web") in seen, f"no JobDeregistered event; saw {seen}")
    need(n.job.get_job("py-web")["Stop"], "a stopped job is not marked Stop")
    n.job.deregister_job("py-web", purge=True)
    try:
        n.job.get_job("py-web")
        raise Failed("a purged job is still readable")
    except exceptions.URLNotFoundNomadException:
        pass


def main():
    anon = nomad.Nomad(address=ADDR, timeout=10)
    try:
        n = acl(anon)
        node_id = cluster(n)
        alloc_id = service_job(n)
        batch_jobs(n)
        variables(n)
        node_controls(n, node_id, alloc_id)
        events_and_deregister(n)
    except Failed as e:
        print(f"FAILED: {e}", flush=True)
        return 1
    except exceptions.BaseNomadException as e:
        resp = e.nomad_resp
        detail = f"{resp.status_code} {resp.request.method} {resp.url}: {resp.text[:500]}" if hasattr(resp, "status_code") else resp
        print(f"FAILED: a call was refused: {detail}", flush=True)
        return 1
    print("python-nomad: every call succeeded", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
