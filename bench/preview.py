"""Benchmark the rule editor's preview against xsltproc.

Prints one JSON line: {"preview_p50_ms", "preview_p99_ms", "xsltproc_p50_ms", "rules"}.
The preview is what POST /api/v1/rules/preview/ computes: instance.xml for a realistic
instance (kernel boot, user data, key, VNC), the default stylesheet and 5 library rules, the
RelaxNG check, the chain without the edited rule, and the diff. xsltproc applies the same
default stylesheet to the same instance.xml, one process per run, as an admin testing a
libvirt.xsl by hand does. Target: p50 ≤ 5 ms, p99 ≤ 20 ms.
"""

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django  # noqa: E402

RULES = ["hugepages", "cache-none", "boot-params", "cpu-weight-cap", "disk-serial-volume-id"]
RUNS = 1000


def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def realistic_instance():
    from django.contrib.auth import get_user_model

    from nodes.models import Image, Instance, InstanceType, Keypair, Node

    owner = get_user_model().objects.get(username="member")
    node = Node.objects.get(name="local")
    return Instance.objects.create(
        owner=owner,
        cluster=node.cluster,
        node=node,
        name="bench",
        image=Image.objects.get(kind="machine"),
        kernel=Image.objects.get(kind="kernel"),
        ramdisk=Image.objects.get(kind="ramdisk"),
        instance_type=InstanceType.objects.get(name="m1.large"),
        keypair=Keypair.objects.create(
            owner=owner, name="k", public_key="ssh-ed25519 AAAA k", fingerprint="x"
        ),
        user_data="IyEvYmluL3NoCmJvb3RwYXJhbXM9Y29uc29sZT10dHlTMCBpcD1kaGNwIHZuYwo=",
    )


def enable_library_rules():
    from nodes.domainxml import library
    from nodes.models import Rule

    rules = []
    for position, slug in enumerate(RULES):
        entry = library.get(slug)
        rule = Rule.objects.create(
            name=entry.title, library_slug=slug, enabled=True, position=position
        )
        rule.revise(entry.text, None)
        rules.append(rule)
    return rules


def time_preview(instance, rule):
    from nodes.domainxml import pipeline

    text = rule.current.text
    rendered, _ = pipeline.preview(instance, rule, text)  # warm: helper started, caches filled
    assert rendered.outcome.ok, rendered.outcome.errors
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        pipeline.preview(instance, rule, text)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def time_xsltproc(instance):
    from nodes.domainxml import pipeline

    with tempfile.TemporaryDirectory(prefix="kumo-xsltproc-") as name:
        folder = Path(name)
        (folder / "instance.xml").write_bytes(pipeline.instance_xml(instance))
        (folder / "libvirt.xsl").write_text(pipeline.shipped_default_text())
        command = ["xsltproc", str(folder / "libvirt.xsl"), str(folder / "instance.xml")]
        samples = []
        for _ in range(200):
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def main():
    _django.setup()
    instance = realistic_instance()
    rules = enable_library_rules()
    preview = time_preview(instance, rules[-1])
    xsltproc = time_xsltproc(instance)
    print(
        json.dumps(
            {
                "preview_p50_ms": round(statistics.median(preview), 2),
                "preview_p99_ms": round(percentile(preview, 0.99), 2),
                "xsltproc_p50_ms": round(statistics.median(xsltproc), 2),
                "rules": len(rules),
            }
        )
    )


if __name__ == "__main__":
    main()
