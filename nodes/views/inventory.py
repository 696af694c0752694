"""Pages for clusters and nodes."""

from functools import partial

from django.contrib import messages
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from nodes import operations
from nodes.choices import DomainType, NodeStatus, PlacementPolicy
from nodes.forms import AdoptForm, ClusterForm, NodeForm
from nodes.models import Cluster, Node, UnmanagedDomain
from nodes.views.base import (
    Column,
    InventoryCreateView,
    InventoryDetailView,
    InventoryListView,
    InventoryUpdateView,
    carried_out,
)


class ClusterList(InventoryListView):
    model = Cluster
    columns = [
        Column("Name", "name", link=True),
        Column("Placement", "get_placement_policy_display"),
        Column("Nodes", "node_count", staff_only=True),
        Column("Description", "description"),
    ]
    search_fields = ["name", "description"]
    filters = {"placement_policy": PlacementPolicy.choices}
    create_url_name = "kumo:cluster_create"
    empty_hint = "A cluster groups nodes that share a placement policy. Create one first."

    def get_queryset(self):
        return super().get_queryset().annotate(node_count=Count("nodes")).order_by("name")


class ClusterDetail(InventoryDetailView):
    model = Cluster
    slug_field = "name"
    fields = [
        Column("Placement policy", "get_placement_policy_display"),
        Column("CPU mode", "get_cpu_mode_display"),
        Column("Description", "description"),
        Column("Created", "created_at"),
    ]
    edit_url_name = "kumo:cluster_edit"
    extra_template = "nodes/cluster_nodes.html"

    def get_context_data(self, **kwargs):
        visible = Node.objects.for_user(self.request.user).filter(cluster=self.object)
        return super().get_context_data(nodes=visible, **kwargs)


class ClusterCreate(InventoryCreateView):
    model = Cluster
    form_class = ClusterForm


class ClusterEdit(InventoryUpdateView):
    model = Cluster
    form_class = ClusterForm
    slug_field = "name"


class NodeList(InventoryListView):
    model = Node
    columns = [
        Column("Name", "name", link=True),
        Column("Cluster", "cluster"),
        Column("URI", "uri"),
        Column("Status", "status", badge=True),
        Column("Type", "domain_type"),
        Column("CPUs", "cpus"),
        Column("Memory (MiB)", "memory_mb"),
        Column("Last seen", "last_seen"),
    ]
    search_fields = ["name", "uri", "hostname", "cluster__name"]
    filters = {"status": NodeStatus.choices, "domain_type": DomainType.choices}
    create_url_name = "kumo:node_create"
    empty_hint = (
        "A node is a hypervisor host reached by a libvirt URI such as qemu+ssh://root@host/system."
    )
    live_refresh = True

    def get_queryset(self):
        return super().get_queryset().select_related("cluster")


class NodeDetail(InventoryDetailView):
    model = Node
    slug_field = "name"
    fields = [
        Column("Cluster", "cluster", link=True),
        Column("libvirt URI", "uri"),
        Column("Status", "status", badge=True),
        Column("Enabled", "enabled"),
        Column("Draining", "draining"),
        Column("Authentication", "get_auth_method_display"),
        Column("Domain type", "get_domain_type_display"),
        Column("CPU overcommit", "cpu_allocation_ratio"),
        Column("RAM overcommit", "ram_allocation_ratio"),
        Column("Disk overcommit", "disk_allocation_ratio"),
        Column("CPU mode", "effective_cpu_mode.0"),
        Column("VNC listen address", "vnc_listen"),
        Column("NIC", "get_nic_type_display"),
        Column("NIC source", "nic_source"),
        Column("Images on the node", "images_path"),
        Column("Instances on the node", "instances_path"),
    ]
    edit_url_name = "kumo:node_edit"
    extra_template = "nodes/node_extra.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            unmanaged=self.object.unmanaged.filter(ignored=False),
            ignored_count=self.object.unmanaged.filter(ignored=True).count(),
            adopt_form=AdoptForm(),
            **kwargs,
        )


class NodeProbe(NodeDetail):
    """The node page's probe panel alone: status, last error, what was discovered."""

    template_name = "nodes/partials/node_probe.html"


class NodeCreate(InventoryCreateView):
    model = Node
    form_class = NodeForm

    def form_valid(self, form):
        response = super().form_valid(form)
        queue_probe(self.request, self.object)
        return response


class NodeEdit(InventoryUpdateView):
    model = Node
    form_class = NodeForm
    slug_field = "name"


def queue_probe(request, node):
    try:
        operations.request_probe(node)
    except operations.QueueUnavailable as error:
        messages.error(request, str(error))
    else:
        messages.info(request, f"Checking the connection to {node.name}…")


@require_POST
def node_adopt(request, key, pk):
    """Adopt an unmanaged domain as an instance (the pre-adopt hooks may refuse)."""
    unmanaged = get_object_or_404(
        UnmanagedDomain.objects.for_user(request.user), node__name=key, pk=pk
    )
    form = AdoptForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose an owner, an image and an instance type to adopt it as.")
        return redirect(unmanaged.node)
    try:
        instance, _ = operations.adopt(request.user, unmanaged, **form.cleaned_data)
    except operations.Refused as error:  # Redis gone, or adopted meanwhile
        messages.error(request, str(error))
        return redirect(unmanaged.node)
    messages.info(request, f"Adopting {unmanaged.name} as {instance.ec2_id}.")
    return redirect(instance)


@require_POST
def node_ignore(request, key, pk):
    unmanaged = get_object_or_404(
        UnmanagedDomain.objects.for_user(request.user), node__name=key, pk=pk
    )
    unmanaged.ignored = True
    unmanaged.save(update_fields=["ignored"])
    messages.info(request, f"{unmanaged.name} is ignored; it stays on the node, untouched.")
    return redirect(unmanaged.node)


@require_POST
def node_drain(request, key):
    """Maintenance: its instances moved away one by one (the API's POST …/drain/)."""
    node = get_object_or_404(Node.objects.for_user(request.user), name=key)
    done = f"Draining {node.name}: its instances move one by one."
    return carried_out(request, partial(operations.drain, node, request.user), done, node)


@require_POST
def node_undrain(request, key):
    node = get_object_or_404(Node.objects.for_user(request.user), name=key)
    done = f"{node.name} is back in service."
    return carried_out(request, partial(operations.undrain, node, request.user), done, node)


@require_POST
def node_check(request, key):
    """ "Check connection": queue a probe (members cannot see nodes, so they get a 404)."""
    node = get_object_or_404(Node.objects.for_user(request.user), name=key)
    queue_probe(request, node)
    return redirect(node)
