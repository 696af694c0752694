"""The chain for an instance: its facts from the database, the rules whose scope matches, the
render, and the diffs that the editor and the impact check show.

Launch, preview, the CLI and the impact check all come through `render`, so what an admin
previews is what an instance gets.
"""

import copy
from dataclasses import dataclass, field
from pathlib import Path

from django.db.models import Q

from nodes.choices import ImageKind
from nodes.domainxml import instancexml, sandbox
from nodes.domainxml.chain import Outcome, Problem, Stage
from nodes.domainxml.facts import (
    Address,
    Disk,
    InstanceFacts,
    Nic,
    mac_for,
    stylesheet_params,
)
from nodes.metrics.models import RenderCount
from nodes.models import Image, Instance, InstanceType, Node, Rule
from nodes.models.rules import SCOPE_TARGETS, unified_diff
from nodes.storage.models import RENDERED

SHIPPED_DEFAULT = Path(__file__).with_name("default.xsl")
BLANK_RULE = """<?xml version="1.0" encoding="UTF-8"?>
<!-- A rule: the domain XML in, the domain XML out. This one copies everything; add a
     template for what you want to change. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" encoding="UTF-8" indent="yes" omit-xml-declaration="yes"/>
  <xsl:template match="@*|node()">
    <xsl:copy><xsl:apply-templates select="@*|node()"/></xsl:copy>
  </xsl:template>
</xsl:stylesheet>
"""
SAMPLE_USER_DATA = "Ym9vdHBhcmFtcz1jb25zb2xlPXR0eVMwCg=="  # bootparams=console=ttyS0


def shipped_default_text():
    return SHIPPED_DEFAULT.read_text()


class MissingDefaultRule(LookupError):
    """The default stylesheet's rule (or its text) is not in the database."""


MISSING_DEFAULT = (
    "The default stylesheet's rule is missing from the database (was it deleted?): "
    "`manage.py restoredefaultrule` recreates it with the shipped text."
)


def default_rule():
    """The default stylesheet's rule, with its current revision (a migration creates it)."""
    rule = Rule.objects.filter(is_default=True, current__isnull=False).first()
    if rule is None:
        raise MissingDefaultRule(MISSING_DEFAULT)
    return rule


# What facts_for reads of an instance: select_related these when loading ones to render.
RENDERED_RELATED = (
    "node__cluster",
    "cluster",
    "image",
    "kernel",
    "ramdisk",
    "cdrom",
    "instance_type",
    "owner",
)


def facts_for(instance):
    """InstanceFacts of a saved or unsaved Instance with its node, image and type set."""
    node, image, kind = instance.node, instance.image, instance.instance_type
    instance_path = instance.directory
    cpu_mode, cpu_model = node.effective_cpu_mode
    tuning = instance.tuning
    return InstanceFacts(
        instance_id=instance.ec2_id,
        uuid=str(instance.uuid),
        reservation_id=instance.reservation_id,
        owner=instance.owner.username,
        name=instance.name,
        image_id=image.ec2_id,
        kernel_id=instance.kernel.ec2_id if instance.kernel else "",
        ramdisk_id=instance.ramdisk.ec2_id if instance.ramdisk else "",
        kernel_path=f"{node.images_path}/{instance.kernel.ec2_id}" if instance.kernel else "",
        ramdisk_path=f"{node.images_path}/{instance.ramdisk.ec2_id}" if instance.ramdisk else "",
        cdrom_path=f"{node.images_path}/{instance.cdrom.ec2_id}" if instance.cdrom else "",
        instance_type=kind.name,
        cores=kind.vcpus,
        memory_mb=kind.memory_mb,
        disk_gb=kind.disk_gb,
        cpu_weight=tuning.cpu_weight,
        cpu_cap=tuning.cpu_cap,
        current_memory_mb=tuning.memory_mb,
        current_vcpus=tuning.vcpus,
        instance_path=instance_path,
        node_name=node.name,
        cluster_name=instance.cluster.name,
        domain_type=node.domain_type,
        user_data=instance.user_data,
        launch_index=instance.launch_index,
        platform=image.platform,
        arch=image.arch,
        vm_mode=image.vm_mode,
        virtio_root=image.virtio_root,
        virtio_disk=image.virtio_disk,
        virtio_net=image.virtio_net,
        key_name=instance.key_name,
        ssh_key=instance.public_key,
        cpu_mode=cpu_mode,
        cpu_model=cpu_model,
        vnc_listen=node.vnc_listen,
        vnc_password=instance.vnc_password,
        disks=disks_for(instance),
        volumes=volumes_for(instance),
        config_drive=instance.file_path(Instance.CONFIG_DRIVE) if image.cloud_init else "",
        nics=(Nic(mac_for(instance.ec2_id), node.nic_type, node.nic_source),),
        addresses=addresses_for(instance),
    )


def addresses_for(instance):
    """Its addresses as last read (none for an unsaved sample)."""
    if instance.pk is None:
        return ()
    return tuple(
        Address(row.mac, row.ip, row.prefix, row.family, row.network, row.source)
        for row in instance.addresses.all()
    )


def disks_for(instance):
    """The root disk (an overlay on the image) and, if the type has one, the ephemeral disk."""
    root = instance.file_path(Instance.ROOT_DISK)
    disks = [Disk(root, "vda", "sda", f"{instance.ec2_id}-root")]
    if instance.instance_type.ephemeral_gb:
        ephemeral = instance.file_path(Instance.EPHEMERAL_DISK)
        disks.append(Disk(ephemeral, "vdb", "sdb", f"{instance.ec2_id}-ephemeral"))
    return tuple(disks)


def volumes_for(instance):
    """Its attached volumes (and the one being attached), in device order; none for an
    unsaved sample."""
    if instance.pk is None:
        return ()
    attached = instance.volumes.filter(status__in=RENDERED).select_related("node")
    return tuple(
        Disk(volume.path, volume.device, f"s{volume.device[1:]}", volume.ec2_id)
        for volume in attached.order_by("device")
    )


def instance_xml(instance) -> bytes:
    return instancexml.to_bytes(instancexml.build(facts_for(instance)))


def sample_instance(
    owner,
    image=None,
    instance_type=None,
    node=None,
    kernel=None,
    ramdisk=None,
    user_data=SAMPLE_USER_DATA,
):
    """An unsaved instance for previews: the given parts, else the first of each."""
    image = image or Image.objects.filter(kind=ImageKind.MACHINE).first()
    node = node or Node.objects.select_related("cluster").first()
    instance_type = instance_type or InstanceType.objects.first()
    if not (image and node and instance_type):
        raise LookupError("A sample needs at least one machine image, node and instance type.")
    return Instance(
        ec2_id="i-5A3F1E00",
        reservation_id="r-5A3F1E00",
        uuid="00000000-0000-4000-8000-5a3f1e000000",
        name="sample",
        owner=owner,
        cluster=node.cluster,
        node=node,
        image=image,
        instance_type=instance_type,
        kernel=kernel,
        ramdisk=ramdisk,
        user_data=user_data,
        vnc_password="sample00",  # noqa: S106  (stable, so that previews compare)
    )


@dataclass
class Rendered:
    outcome: Outcome
    stylesheets: list = field(default_factory=list)  # [{"rule", "name", "revision"}]

    @property
    def domain_text(self):
        return self.outcome.domain_xml.decode() if self.outcome.domain_xml else ""


@dataclass(frozen=True)
class Override:
    """A change to the saved chain, for previews and reviews: `rule` as edited (an unsaved
    copy carrying the edited scope, position and enabled; a new Rule for a new rule) with
    `text`, or left out of the chain (`without`)."""

    rule: Rule
    text: str = ""
    without: bool = False

    def replaces(self, rule):
        return self.rule.pk is not None and rule.pk == self.rule.pk


def chain_rules():
    """The default stylesheet and every enabled rule, with their current revisions: one
    query, shared by the renders of a preview or a review."""
    wanted = Q(is_default=True) | Q(enabled=True)
    found = Rule.objects.filter(wanted, current__isnull=False).select_related("current")
    return list(found.order_by())  # ordered() sorts them


def ordered(rules, override=None):
    """The rules of the chain in order, with override's change made."""
    kept = [rule for rule in rules if not (override and override.replaces(rule))]
    if override and not override.without and (override.rule.enabled or override.rule.is_default):
        kept.append(override.rule)
    return sorted(kept, key=lambda rule: (not rule.is_default, rule.position, rule.name))


def chain_for(instance, rules, override=None, with_rules=True):
    """The (rule, revision number, Stage) triples that apply to the instance, in order;
    with_rules=False keeps only the default stylesheet."""
    triples = []
    for rule in ordered(rules, override):
        if not rule.is_default and not (with_rules and rule.applies_to(instance)):
            continue
        if override and rule is override.rule:
            triples.append((rule, None, Stage(rule.name or "New rule", override.text)))
        else:
            triples.append((rule, rule.current.number, Stage(rule.name, rule.current.text)))
    return triples


def render_variants(instance, variants, rules, with_rules=True, key=None):
    """Render the instance through its chain changed by each (override, check_schema) of
    variants, in one round trip to the sandbox: one Rendered per variant. A key makes a
    render stop the previous one with that key (sandbox.render_chains)."""
    if not any(rule.is_default for rule in rules):
        return [Rendered(Outcome(errors=[Problem(MISSING_DEFAULT)])) for _ in variants]
    facts = facts_for(instance)
    try:
        xml = instancexml.to_bytes(instancexml.build(facts))
    except ValueError as error:  # a value XML cannot carry, saved before the door checked it
        problem = Problem(f"instance.xml cannot be built: {error}", "instance.xml")
        return [Rendered(Outcome(errors=[problem])) for _ in variants]
    chains = [chain_for(instance, rules, override, with_rules) for override, _ in variants]
    outcomes = sandbox.render_chains(
        xml,
        [
            sandbox.Chain(tuple(s for _, _, s in triples), schema)
            for triples, (_, schema) in zip(chains, variants, strict=True)
        ],
        stylesheet_params(facts),
        key,
    )
    return [
        Rendered(
            outcome,
            [
                {"rule": rule.pk if rule else None, "name": stage.name, "revision": number}
                for rule, number, stage in triples
            ],
        )
        for outcome, triples in zip(outcomes, chains, strict=True)
    ]


def render(instance, override=None, check_schema=True, with_rules=True) -> Rendered:
    """The instance's domain through its saved chain (changed by override, for previews)."""
    return render_variants(instance, [(override, check_schema)], chain_rules(), with_rules)[0]


def diff(before: Rendered, after: Rendered):
    return unified_diff(before.outcome.indented, after.outcome.indented, "before", "after")


def preview(instance, proposed, text, against="without", key=None):
    """What the chain makes of instance with `proposed` (the rule as edited, applied as if
    enabled) having `text`, and the diff against the chain without that rule ("without") or
    with its saved revision ("saved"). A key (one per admin) stops that admin's previous
    preview if it still runs."""
    edited = copy.copy(proposed)
    edited.enabled = True
    baseline = baseline_for(proposed, against)
    variants = [(Override(edited, text), True), (baseline, False)]
    after, before = render_variants(instance, variants, chain_rules(), key=key)
    RenderCount.record(RenderCount.PREVIEW, after.outcome.ok)
    if not proposed.is_default and not proposed.applies_to(instance):
        after.outcome.warnings.insert(0, Problem(not_covered(proposed), edited.name or "New rule"))
    return after, diff(before, after)


def baseline_for(proposed, against):
    """What a preview's diff compares with: the saved chain with the rule left out
    ("without"), or with its saved revision applied, as if enabled ("saved")."""
    if proposed.pk is None or proposed.is_default:
        return None  # a new rule is not in the saved chain; the default always is
    if against == "without":
        return Override(proposed, without=True)
    saved = Rule.objects.select_related("current").get(pk=proposed.pk)
    saved.enabled = True
    return Override(saved, saved.current.text)


def not_covered(rule):
    target = SCOPE_TARGETS[rule.scope].replace("_", " ")
    return (
        f"This rule is for the {target} {rule.target}, which this instance does not have: "
        "it is not applied here. Preview on an instance it covers."
    )
