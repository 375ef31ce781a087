"""Real kubectl (v1.32) with webhook configurations against `recon up --serve`: created, defaulted,
printed and refused as upstream's (recon calls none of the webhooks)."""

from __future__ import annotations

import json

CONFIGURATION = """\
apiVersion: admissionregistration.k8s.io/v1
kind: {kind}
metadata: {{name: policy}}
webhooks:
- name: pods.policy.example.com
  clientConfig: {{url: "https://policy.example.com/check"}}
  admissionReviewVersions: [v1]
  sideEffects: None
  rules: [{{operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [pods]}}]
"""


def apply(live, kind: str, text: str, check: int | None = 0):
    path = live.root / f"{kind}.yaml"
    path.write_text(text)
    return live.kubectl("apply", "-f", str(path), check=check)


def test_kubectl_applies_and_lists_webhook_configurations(live):
    for kind, plural in (("ValidatingWebhookConfiguration", "validatingwebhookconfigurations"),
                         ("MutatingWebhookConfiguration", "mutatingwebhookconfigurations")):
        out = apply(live, kind, CONFIGURATION.format(kind=kind)).stdout
        assert f"{kind.lower()}.admissionregistration.k8s.io/policy created" in out
        table = [line.split() for line in live.kubectl("get", plural).stdout.splitlines()]
        assert table[0] == ["NAME", "WEBHOOKS", "AGE"] and table[1][:2] == ["policy", "1"]
        [hook] = json.loads(live.kubectl("get", plural, "policy", "-o", "json").stdout)["webhooks"]
        assert (hook["failurePolicy"], hook["timeoutSeconds"], hook["rules"][0]["scope"]) == ("Fail", 10, "*")
    resources = live.kubectl("api-resources", "--api-group=admissionregistration.k8s.io").stdout
    assert "validatingwebhookconfigurations" in resources and "mutatingwebhookconfigurations" in resources
    assert "policy" in live.kubectl("get", "validatingwebhookconfigurations,mutatingwebhookconfigurations").stdout


def test_a_webhook_without_side_effects_or_https_is_refused(live):
    text = CONFIGURATION.format(kind="ValidatingWebhookConfiguration").replace("policy}", "broken}")
    text = text.replace("https://", "http://").replace("  sideEffects: None\n", "")
    refused = apply(live, "broken", text, check=1)
    assert refused.stderr.startswith('The ValidatingWebhookConfiguration "broken" is invalid: \n* ')
    assert "* webhooks[0].sideEffects: Required value: must specify one of None, NoneOnDryRun" in refused.stderr
    assert ("webhooks[0].clientConfig.url: Invalid value: \"http\": 'https' is the only allowed URL scheme; "
            "desired format: https://host[/path]") in refused.stderr
