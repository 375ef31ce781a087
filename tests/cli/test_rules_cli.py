"""`recon rules check`, determinism of whole runs, and the WebApp example end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .helpers import REPO, recon

BROKEN = """component broken
  reads Pod
  writes Pod.status

rule a for p in Pod:
  set p.spec.nodeName = nodee
  set p.status.phase = "Running"

rule b for p in Pod:
  let x = (
"""


def test_rules_check_accepts_the_shipped_rules(tmp_path):
    proc = recon("rules", "check", str(REPO / "rules"), cwd=tmp_path, check=0)
    assert "webapp.rules: ok (component webapp-controller: 3 rules)" in proc.stdout
    assert proc.stderr == ""  # (nor warns: every field they read of a built-in kind is declared)


WRITES_UNDECLARED = """component writer
  reads ConfigMap, apps/Deployment
  writes ConfigMap, apps/Deployment

rule spec for c in ConfigMap:
  set c.spec.replicas = 3
  set c.labels["app"] = "web"
  create ConfigMap from {metadata: {name: "copy"}, dta: {a: "b"}}

rule image for d in apps/Deployment:
  set d.spec.template.spec.containers[0].imagee = "nginx"
"""


def test_rules_check_warns_of_a_field_a_rule_writes_that_a_built_in_kind_does_not_declare(tmp_path):
    (tmp_path / "w.rules").write_text(WRITES_UNDECLARED)
    proc = recon("rules", "check", "w.rules", cwd=tmp_path, check=0)  # (warnings: the file loads)
    assert proc.stdout == "w.rules: ok (component writer: 2 rules)\n"
    assert proc.stderr == (
        "warning: w.rules:6:9: rule writer/spec writes ConfigMap field spec, which the schema of v1 ConfigMap "
        "does not declare: the API server drops it\n"
        "      set c.spec.replicas = 3\n"
        "            ^\n"
        "warning: w.rules:8:57: rule writer/spec writes ConfigMap field dta, which the schema of v1 ConfigMap "
        "does not declare: the API server drops it (did you mean data?)\n"
        '      create ConfigMap from {metadata: {name: "copy"}, dta: {a: "b"}}\n'
        "                                                            ^\n"
        "warning: w.rules:11:42: rule writer/image writes apps/Deployment field "
        "spec.template.spec.containers[0].imagee, which the schema of apps/v1 Deployment does not declare: "
        "the API server drops it (did you mean spec.template.spec.containers[0].image?)\n"
        '      set d.spec.template.spec.containers[0].imagee = "nginx"\n'
        "                                             ^\n")


MISSPELT = """component pinner
  reads apps/Deployment
  writes apps/Deployment.status

rule observed for d in apps/Deployment where d.labels.app != null:
  when d.spec.replics > 1 and d.metadata.name != "":
    set d.status.observedGeneration = d.metadata.generatoin
"""


def test_rules_check_warns_of_a_field_read_of_a_built_in_kind_that_its_schema_does_not_declare(tmp_path):
    (tmp_path / "pin.rules").write_text(MISSPELT)
    proc = recon("rules", "check", "pin.rules", cwd=tmp_path, check=0)  # (the rule is valid: it loads)
    assert proc.stdout == "pin.rules: ok (component pinner: 1 rule)\n"
    assert proc.stderr == (
        "warning: pin.rules:6:15: rule pinner/observed reads spec.replics of its apps/Deployment, which the schema "
        "of apps/v1 Deployment does not declare: it is always null (did you mean spec.replicas?)\n"
        "      when d.spec.replics > 1 and d.metadata.name != \"\":\n"
        "                  ^\n"
        "warning: pin.rules:7:50: rule pinner/observed reads metadata.generatoin of its apps/Deployment, which the "
        "schema of apps/v1 Deployment does not declare: it is always null (did you mean metadata.generation?)\n"
        "        set d.status.observedGeneration = d.metadata.generatoin\n"
        "                                                     ^\n")


def test_rules_check_reports_every_mistake_of_a_file_and_exits_1(tmp_path):
    (tmp_path / "broken.rules").write_text(BROKEN)
    proc = recon("rules", "check", "broken.rules", cwd=tmp_path, check=1)
    err = proc.stderr
    assert "broken.rules:6:7: setting Pod fields needs 'writes Pod'" in err or "broken.rules:6" in err
    assert "unknown name 'nodee'" in err
    assert "broken.rules:10:11: '(' is never closed" in err
    assert "Traceback" not in err


def test_rules_check_of_a_folder_without_rule_files_says_so_and_fails(tmp_path):
    (tmp_path / "rulez").mkdir()
    (tmp_path / "rulez" / "notes.txt").write_text("not a rule file")
    proc = recon("rules", "check", "rulez", cwd=tmp_path, check=1)
    assert proc.stdout == ""
    assert proc.stderr.splitlines()[0] == "error: rulez: no rule files (*.rules) there"


def test_rules_check_refuses_a_component_two_files_define_as_recon_up_does(tmp_path):
    header = "component same\n  reads ConfigMap\n  writes ConfigMap\n"
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.rules").write_text(header)
    (tmp_path / "rules" / "b.rules").write_text("# the same name again\n" + header)
    proc = recon("rules", "check", "rules", cwd=tmp_path, check=1)
    assert "ok" not in proc.stdout  # (neither: which one would win is no reason to keep it)
    message = ("component 'same' is defined by 2 files (rules/a.rules:1:11, rules/b.rules:2:11); none of them "
               "is loaded until one is renamed or removed")
    assert f"rules/a.rules:1:11: {message}\n    component same\n" in proc.stderr
    (tmp_path / "manifests").mkdir()
    up = recon("up", "manifests", "--rules", "rules", "--once", cwd=tmp_path, check=1)
    assert f"rules/a.rules:1:11: {message}" in up.stderr


def test_rules_without_a_subcommand_is_a_usage_error(tmp_path):
    assert recon("rules", cwd=tmp_path).returncode == 2


def example_folders(root: Path) -> tuple[Path, Path]:
    shutil.copytree(REPO / "manifests" / "examples", root / "manifests")
    shutil.copy(REPO / "manifests" / "demo.yaml", root / "manifests" / "demo.yaml")
    shutil.copytree(REPO / "rules" / "examples", root / "rules")
    return root / "manifests", root / "rules"


def get_json(root: Path, *args: str) -> dict:
    return json.loads(recon("get", *args, "-o", "json", cwd=root, check=0).stdout)


def test_the_webapp_example_creates_its_deployment_and_service(tmp_path):
    example_folders(tmp_path)
    recon("up", "manifests", "--rules", "rules", "--once", cwd=tmp_path, check=0)
    app = get_json(tmp_path, "webapp", "hello", "-n", "demo")
    deploy = get_json(tmp_path, "deploy", "hello", "-n", "demo")
    svc = get_json(tmp_path, "svc", "hello", "-n", "demo")
    owner = {"apiVersion": "example.com/v1", "kind": "WebApp", "name": "hello",
             "uid": app["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}
    assert deploy["metadata"]["ownerReferences"] == [owner]
    assert svc["metadata"]["ownerReferences"] == [owner]
    assert deploy["spec"]["replicas"] == 2
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert svc["spec"]["selector"] == {"app": "hello"}
    assert svc["spec"]["ports"][0]["targetPort"] == 80
    assert app["status"]["url"] == "http://hello.demo.svc.cluster.local"


def test_editing_the_webapp_updates_its_deployment_on_the_next_run(tmp_path):
    manifests, _rules = example_folders(tmp_path)
    recon("up", "manifests", "--rules", "rules", "--once", cwd=tmp_path, check=0)
    hello = manifests / "hello.yaml"
    hello.write_text(hello.read_text().replace("nginx:1.27", "nginx:1.28").replace("replicas: 2", "replicas: 4"))
    recon("up", "manifests", "--rules", "rules", "--once", cwd=tmp_path, check=0)
    deploy = get_json(tmp_path, "deploy", "hello", "-n", "demo")
    assert deploy["spec"]["replicas"] == 4
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"


def test_two_runs_on_the_same_inputs_write_byte_identical_history(tmp_path):
    """Also under two string hash seeds: the order a set of strings is walked in must not reach
    the history (these two seeds walk the keys of a change in different orders)."""
    logs = []
    for name, seed in (("one", "0"), ("two", "1")):
        root = tmp_path / name
        shutil.copytree(REPO / "manifests", root / "manifests")
        shutil.copytree(REPO / "rules", root / "rules")
        recon("up", "manifests", "--once", cwd=root, env={"PYTHONHASHSEED": seed})
        hello = root / "manifests" / "examples" / "hello.yaml"
        hello.write_text(hello.read_text().replace("replicas: 2", "replicas: 3"))
        recon("up", "manifests", "--once", cwd=root, env={"PYTHONHASHSEED": seed})
        logs.append((root / ".recon" / "history.log").read_bytes())
    assert len(logs[0]) > 1000
    assert logs[0] == logs[1]


def test_a_rule_file_that_is_not_utf8_is_reported_at_its_first_bad_byte(tmp_path):
    (tmp_path / "latin1.rules").write_bytes(b"component latin1\n  reads Pod\n\n# caf\xe9\n")
    err = recon("rules", "check", "latin1.rules", cwd=tmp_path, check=1).stderr
    assert err.splitlines() == ["latin1.rules:4:6: the rule file is not UTF-8: byte 0xe9 cannot be read here; "
                                "save the file as UTF-8", "    # caf\N{REPLACEMENT CHARACTER}", "         ^"]


def test_up_warns_of_a_kind_the_rules_name_that_the_cluster_does_not_serve(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "typo.rules").write_text(
        "component typo\n  reads Podd, example.com/WebAp, ConfigMap\n  writes ConfigMap\n\n"
        "rule r for app in example.com/WebAp:\n  let x = 1\n")
    (tmp_path / "manifests").mkdir()
    shutil.copy(REPO / "manifests" / "examples" / "webapp-crd.yaml", tmp_path / "manifests")
    proc = recon("up", "manifests", "--rules", "rules", "--once", cwd=tmp_path, check=0)
    assert ("warning: rules/typo.rules:2:9: component typo names Podd, which no built-in kind or "
            "CustomResourceDefinition in the cluster defines: nothing of it is read or written "
            "(did you mean Pod?)\n      reads Podd, example.com/WebAp, ConfigMap\n            ^\n") in proc.stderr
    assert "names example.com/WebAp, which" in proc.stderr and "(did you mean example.com/WebApp?)" in proc.stderr
    assert "ConfigMap, which" not in proc.stderr


def test_the_bundled_example_controller_is_not_warned_of_in_a_folder_without_its_kind(tmp_path):
    """Without ./rules recon runs its bundled rules, the example WebApp controller among them; a
    user's folder that defines no WebApp kind is not told that a controller it never wrote names it."""
    (tmp_path / "mine").mkdir()
    shutil.copy(REPO / "manifests" / "nodes.yaml", tmp_path / "mine")
    proc = recon("up", "mine", "--once", cwd=tmp_path, check=0)
    assert "node/node-1 created" in proc.stdout
    assert proc.stderr == ""


def test_up_warns_of_a_field_a_rule_reads_of_its_custom_object_that_the_schema_does_not_declare(tmp_path):
    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    path = tmp_path / "rules" / "examples" / "webapp.rules"
    text = path.read_text()
    assert "image: app.spec.image," in text
    path.write_text(text.replace("image: app.spec.image,", "image: app.spec.imag,", 1))
    line, text = next((i, t) for i, t in enumerate(path.read_text().splitlines(), 1) if "app.spec.imag," in t)
    col = text.index("imag,") + 1
    # (the image read as null makes the Deployment invalid: the warning says why the rule fails)
    proc = recon("up", "manifests", "--once", cwd=tmp_path, check=1)
    assert "spec.template.spec.containers[0].image: Required value" in proc.stderr
    assert (f"warning: rules/examples/webapp.rules:{line}:{col}: rule webapp-controller/deployment reads spec.imag "
            "of its example.com/WebApp, which the schema of CustomResourceDefinition webapps.example.com (v1) "
            f"does not declare: it is always null (did you mean spec.image?)\n    {text}\n    {' ' * (col - 1)}^\n"
            ) in proc.stderr
    # (read where it is used twice: reported once per rule)
    assert proc.stderr.count("reads spec.imag of") == 1


def test_the_shipped_rules_read_nothing_their_schemas_leave_out(tmp_path):
    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    proc = recon("up", "manifests", "--rules", str(REPO / "rules"), "--once", cwd=tmp_path, check=0)
    assert "warning" not in proc.stderr
