"""Choosing a node for a new instance: filters, then the cluster's policy (seed 002's
SCHEDPOLICY: GREEDY, ROUNDROBIN, SPREAD). Capacity is claimed under a lock on the cluster's
node rows, so two launches never both take the last slot."""

from django.db import transaction
from django.db.models import F, Sum

from nodes.choices import NodeStatus, PlacementPolicy, VmMode
from nodes.models import Cluster, Instance, Node
from nodes.storage.models import IMAGES_POOL, StoragePool
from nodes.storage.pools import lacks_room

COMPATIBLE_ARCH = {"x86_64": {"x86_64", "i686"}, "i686": {"i686"}, "aarch64": {"aarch64"}}


class PlacementFailed(Exception):
    """No node can take the instance; the message lists why each was rejected."""


def usage(nodes, instance):
    """vCPUs, memory and disk taken on each node by the instances holding resources there."""
    rows = (
        Instance.objects.holding_resources()
        .filter(node__in=nodes)
        .exclude(pk=instance.pk)
        .values("node")
        .annotate(
            vcpus=Sum("instance_type__vcpus"),
            memory_mb=Sum("instance_type__memory_mb"),
            disk_gb=Sum(F("instance_type__disk_gb") + F("instance_type__ephemeral_gb")),
        )
    )
    return {row["node"]: row for row in rows}


def rejection(node, instance, used, images_pool=None):
    """Why node cannot take instance, or "" when it can (images_pool: the node's pool of
    images, as its last probe saw it, which the image is uploaded into)."""
    image, size = instance.image, instance.instance_type
    if not node.enabled:
        return "disabled"
    if node.draining:
        return "draining (maintenance)"
    if node.status != NodeStatus.UP:
        return f"status {node.status}"
    if image.hypervisor and image.hypervisor != node.domain_type:
        return f"image needs {image.hypervisor}, node runs {node.domain_type}"
    offered = node.supported_domain_types
    if offered and node.domain_type not in offered:
        return f"its libvirt offers {', '.join(offered)}, not its domain type {node.domain_type}"
    simulated = node.domain_type == "test"  # libvirt's test driver runs anything
    if (
        not simulated
        and node.arch
        and image.arch not in COMPATIBLE_ARCH.get(node.arch, {node.arch})
    ):
        return f"image is {image.arch}, node is {node.arch}"
    if image.vm_mode == VmMode.XEN and node.domain_type != "xen":
        return "image is Xen paravirtual, node is not Xen"
    vcpus = (used.get("vcpus") or 0) + size.vcpus
    if vcpus > node.vcpu_capacity:
        return f"{vcpus} vCPUs would exceed its {node.vcpu_capacity}"
    memory = (used.get("memory_mb") or 0) + size.memory_mb
    if memory > node.memory_capacity_mb:
        return f"{memory} MiB would exceed its {node.memory_capacity_mb} MiB"
    disk = (used.get("disk_gb") or 0) + size.disk_gb + size.ephemeral_gb
    if node.disk_capacity_gb is not None and disk > node.disk_capacity_gb:
        return f"{disk} GiB of disks would exceed its {node.disk_capacity_gb} GiB"
    if images_pool is not None:
        return lacks_room(images_pool, upload_bytes(instance, images_pool))
    return ""


def upload_bytes(instance, images_pool):
    """What the launch copies into the node's images pool: its images not there yet."""
    return sum(i.size_bytes for i in instance.images if i.ec2_id not in images_pool.volumes)


def choose(policy, accepted, cluster, used):
    if policy == PlacementPolicy.SPREAD:

        def free(node):
            return node.memory_capacity_mb - (used.get(node.pk, {}).get("memory_mb") or 0)

        return max(accepted, key=free)
    if policy == PlacementPolicy.ROUNDROBIN and cluster.last_placed_id:
        later = [node for node in accepted if node.name > cluster.last_placed.name]
        return (later or accepted)[0]
    return accepted[0]


def judge(cluster, nodes, instance):
    """(the node the cluster's policy picks for instance among nodes, {node name: "accepted"
    or the reason}); PlacementFailed saying why each was rejected when none fits."""
    used = usage(nodes, instance)
    pools = {p.node_id: p for p in StoragePool.objects.filter(node__in=nodes, name=IMAGES_POOL)}
    verdicts = {
        node.name: rejection(node, instance, used.get(node.pk, {}), pools.get(node.pk))
        or "accepted"
        for node in nodes
    }
    accepted = [node for node in nodes if verdicts[node.name] == "accepted"]
    if not accepted:
        reasons = (
            "; ".join(f"{name}: {why}" for name, why in verdicts.items()) or "none to choose from"
        )
        raise PlacementFailed(
            f"No node of cluster {cluster.name} can take {instance.ec2_id} ({reasons})."
        )
    return choose(cluster.placement_policy, accepted, cluster, used), verdicts


def destination(instance, name=None):
    """Where instance may move: node `name` of its cluster, or the one the cluster's policy
    picks among its other nodes; (node, verdicts) as judge gives them."""
    others = Node.objects.filter(cluster=instance.cluster_id).exclude(pk=instance.node_id)
    if name:
        others = others.filter(name=name)
    return judge(instance.cluster, list(others.order_by("name")), instance)


@transaction.atomic
def place(instance):
    """Put instance on a node and return (node, {node name: "accepted" or the reason})."""
    cluster = Cluster.objects.select_for_update().get(pk=instance.cluster_id)
    candidates = Node.objects.select_for_update().filter(cluster=cluster).order_by("name")
    if instance.node_id:
        candidates = candidates.filter(pk=instance.node_id)
    node, verdicts = judge(cluster, list(candidates), instance)
    Instance.objects.filter(pk=instance.pk).update(node=node)
    instance.node = node
    cluster.last_placed = node
    cluster.save(update_fields=["last_placed"])
    return node, verdicts
