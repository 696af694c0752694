"""The dashboard: node health, capacity and instances by state, from the database only."""

from django.db.models import Count, Sum
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from nodes.choices import NodeStatus, VmState
from nodes.listing import count_of
from nodes.models import Instance, Node


def capacity(nodes, instances):
    """Totals over the nodes that are up, against what live instances take."""
    up = [node for node in nodes if node.status == NodeStatus.UP]
    used = instances.holding_resources().aggregate(
        vcpus=Sum("instance_type__vcpus"), memory_mb=Sum("instance_type__memory_mb")
    )
    return {
        "nodes_up": len(up),
        "cpus": sum(node.cpus or 0 for node in up),
        "vcpu_capacity": sum(node.vcpu_capacity for node in up),
        "memory_mb": sum(node.memory_mb or 0 for node in up),
        "memory_capacity_mb": sum(node.memory_capacity_mb for node in up),
        "vcpus_used": used["vcpus"] or 0,
        "memory_used_mb": used["memory_mb"] or 0,
    }


def state_counts(instances):
    """{vm_state: instances in it}: the live ones counted over the state index; the deleted
    ones, which only grow with history, by count_of (remembered once they are many)."""
    live = instances.filter(vm_state__in=set(VmState.values) - {VmState.DELETED})
    counts = dict(live.values_list("vm_state").annotate(n=Count("pk")).order_by())
    counts[VmState.DELETED] = count_of(instances.filter(vm_state=VmState.DELETED))[0]
    return counts


def dashboard(request):
    nodes = list(Node.objects.for_user(request.user).select_related("cluster"))
    instances = Instance.objects.for_user(request.user)
    counts = state_counts(instances)
    polled = request.headers.get("HX-Target") == "dashboard"
    response = render(
        request,
        "nodes/partials/dashboard_body.html" if polled else "nodes/dashboard.html",
        {
            "nodes": nodes,
            "capacity": capacity(nodes, instances),
            "states": [(label, counts.get(value, 0), value) for value, label in VmState.choices],
            "instance_total": sum(counts.values()),
        },
    )
    patch_vary_headers(response, ["HX-Target"])  # the page and its figures share a URL
    return response
