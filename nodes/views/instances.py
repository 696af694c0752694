"""Pages for instances, their actions, and keypairs."""

from functools import partial
from http import HTTPStatus

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from nodes import consoles, operations, states
from nodes.choices import ActionKind, ActionStatus, PowerState, VmState
from nodes.forms import ImageNameForm, KeypairForm, LaunchForm, MigrateForm, ResizeForm, TuneForm
from nodes.ids import spelled_as_id
from nodes.listing import AddressText, prefix
from nodes.models import Action, Instance, InstanceAddress, InstanceType, Keypair, Node, Quota
from nodes.models.quotas import usage
from nodes.storage.models import ATTACHED, Volume
from nodes.storage.volumes import launch_with_volumes
from nodes.views.base import (
    Column,
    DetailFragment,
    InventoryDetailView,
    InventoryListView,
    carried_out,
)

CONFIRM = {
    ActionKind.STOP: "Power off {id}? The guest gets an ACPI request, then is forced off.",
    ActionKind.HARD_REBOOT: "Force {id} off and start it again with the current rules?",
    ActionKind.TERMINATE: "Terminate {id}? Its disks are deleted (its volumes are detached "
    "and kept); this cannot be undone.",
    ActionKind.RESET_STATE: "Reset {id}'s state from what the hypervisor reports?",
}


class InstanceList(InventoryListView):
    model = Instance
    columns = [
        Column("Id", "ec2_id", link=True),
        Column("Name", "name"),
        Column("Status", "status", badge=True),
        Column("Power", "get_power_state_display"),
        Column("Addresses", "ip_addresses"),
        Column("Type", "instance_type"),
        Column("Image", "image.ec2_id"),
        Column("Node", "node"),
        Column("Owner", "owner"),
        Column("Created", "created_at"),
    ]
    search_fields = ["^ec2_id", "^reservation_id"]
    filters = {"vm_state": VmState.choices, "power_state": PowerState.choices}
    empty_hint = "No instances yet. Launched instances appear here with their state."
    live_refresh = True
    create_url_name = "kumo:instance_launch"
    members_create = True

    def get_queryset(self):
        rows = super().get_queryset().select_related("instance_type", "image", "node", "owner")
        return rows.prefetch_related("addresses")

    def filter_choices(self):
        """Also by instance type, and for admins by node."""
        choices = super().filter_choices()
        choices["instance_type"] = list(InstanceType.objects.values_list("pk", "name"))
        if self.request.user.is_staff:
            choices["node"] = list(Node.objects.values_list("pk", "name"))
        return choices

    def search_match(self, query):
        """Also an instance whose name (in any case), owner's name, or one of whose IP or
        MAC addresses starts with the query. Each is found over its own index and the
        instances are their union: an OR across tables has both databases read them whole."""
        lowered = query.lower()
        instances = Instance.objects.order_by().values("pk")
        addresses = InstanceAddress.objects.order_by().values("instance")
        found = [
            instances.filter(prefix(Lower("name"), lowered)),
            addresses.filter(prefix(AddressText("ip"), lowered)),
            addresses.filter(prefix("mac", lowered)),
        ]
        # The owners first: the planners take a subquery of them to match half the users.
        users = get_user_model().objects.filter(prefix(Lower("username"), lowered))
        if owners := list(users.values_list("pk", flat=True)):
            found.append(instances.filter(owner__in=owners))
        return Q(pk__in=instances.filter(super().search_match(query)).union(*found))


class InstanceDetail(InventoryDetailView):
    model = Instance
    slug_field = "ec2_id"
    fields = [
        Column("Name", "name"),
        Column("Status", "status", badge=True),
        Column("VM state", "get_vm_state_display"),
        Column("Task", "get_task_state_display"),
        Column("Power state", "get_power_state_display"),
        Column("Owner", "owner"),
        Column("Cluster", "cluster", link=True),
        Column("Node", "node", link=True),
        Column("Image", "image", link=True),
        Column("Kernel", "kernel", link=True),
        Column("Ramdisk", "ramdisk", link=True),
        Column("CD-ROM", "cdrom", link=True),
        Column("Instance type", "instance_type", link=True),
        Column("Tuning", "tuning"),
        Column("Keypair", "keypair", link=True),
        Column("Reservation", "reservation_id"),
        Column("Launch index", "launch_index"),
        Column("Created", "created_at"),
        Column("Launched", "launched_at"),
        Column("Terminated", "terminated_at"),
    ]
    extra_template = "nodes/instance_live.html"
    static_template = "nodes/instance_domain.html"
    live_url_name = "kumo:instance_live"

    def get_context_data(self, **kwargs):
        instance = self.object
        kinds = states.available_actions(instance, self.request.user)
        return super().get_context_data(
            buttons=[
                (kind, ActionKind(kind).label, CONFIRM.get(kind, "").format(id=instance.ec2_id))
                for kind in kinds
            ],
            actions=instance.actions.select_related("owner")[:20],
            snapshots=instance.snapshots.all(),
            snapshot_actions=all(states.allowed_now(instance, kind) for kind in states.ON_SNAPSHOT),
            can_make_image=states.allowed_now(instance, ActionKind.CREATE_IMAGE),
            can_tune=states.allowed_now(instance, ActionKind.TUNE),
            can_resize=states.allowed_now(instance, ActionKind.RESIZE),
            can_migrate=self.request.user.is_staff
            and states.allowed_now(instance, ActionKind.MIGRATE),
            migration=instance.running_migration,
            volumes_to_delete=ActionKind.TERMINATE in kinds and attached_volume_ids(instance),
            console_open=not consoles.not_usable(instance),
            **kwargs,
        )


def attached_volume_ids(instance):
    """The ids of instance's volumes, as one string."""
    attached = instance.volumes.filter(status__in=ATTACHED).order_by("device")
    return ", ".join(attached.values_list("ec2_id", flat=True))


class InstanceLive(DetailFragment, InstanceDetail):
    """The instance page's live panel: state, actions, snapshots, the last actions."""


@require_POST
def instance_action(request, key, kind, snapshot=None):
    """Start an action (the API's POST …/actions/ does the same, with the same answers)."""
    instance = get_object_or_404(Instance.objects.for_user(request.user), ec2_id=key)
    name = get_object_or_404(instance.snapshots, pk=snapshot).name if snapshot else ""
    delete_volumes = request.POST.get("delete_volumes") == "1"
    try:
        operations.request_named_action(instance, kind, request.user, name, delete_volumes)
    except operations.NotAllowed as error:
        raise PermissionDenied(error.message) from error
    except operations.Refused as error:
        if error.status == HTTPStatus.BAD_REQUEST:
            return HttpResponseBadRequest(error.message, content_type="text/plain")
        messages.error(request, error.message)  # not now (409) or no queue (503): say why
    else:
        messages.info(request, f"{ActionKind(kind).label} of {instance.ec2_id} queued.")
    return redirect(instance)


def instance_image(request, key):
    """Make a machine image of a stopped instance's disk (the API's POST /images/)."""
    instance = get_object_or_404(Instance.objects.for_user(request.user), ec2_id=key)
    form = ImageNameForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            image, _ = operations.make_image(instance, request.user, form.cleaned_data["name"])
        except operations.Refused as error:
            form.add_error("name" if error.field == "name" else None, error.message)
        else:
            messages.info(request, f"Making {image.ec2_id} from the disk of {instance.ec2_id}.")
            return redirect(image)
    title = f"Make an image of {instance.ec2_id}"
    context = {"form": form, "title": title, "submit_label": "Make the image"}
    return render(request, "nodes/object_form.html", context)


def instance_tune(request, key):
    """Tune CPU weight and cap, memory and vCPUs (the API's "tune" action)."""
    instance = get_object_or_404(Instance.objects.for_user(request.user), ec2_id=key)
    form = TuneForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid() and not form.changed_values():
        form.add_error(None, "Nothing changed: change a value to tune it.")
        return render_action_form(request, form, ("Tune", "Tuning"), instance, start=None)

    def start():
        operations.tune(instance, request.user, **form.changed_values())

    return render_action_form(request, form, ("Tune", "Tuning"), instance, start)


def instance_resize(request, key):
    """Resize to another instance type (the API's "resize" action)."""
    instance = get_object_or_404(Instance.objects.for_user(request.user), ec2_id=key)
    form = ResizeForm(request.POST or None, instance=instance, user=request.user)

    def start():
        wanted = form.cleaned_data
        operations.resize(instance, request.user, wanted["instance_type"], wanted.get("stop"))

    return render_action_form(request, form, ("Resize", "Resize"), instance, start)


def instance_migrate(request, key):
    """Move an instance to another node of its cluster (admins; the API's "migrate")."""
    instance = get_object_or_404(Instance.objects.for_user(request.user), ec2_id=key)
    if not request.user.is_staff:
        raise PermissionDenied("Only admins move instances between nodes.")
    form = MigrateForm(request.POST or None, instance=instance)

    def start():
        node, speed = form.cleaned_data["node"], form.cleaned_data["max_speed_mib_s"]
        name = node.name if node else None
        operations.migrate(instance, request.user, name, max_speed_mib_s=speed)

    return render_action_form(request, form, ("Migrate", "Migration"), instance, start)


def render_action_form(request, form, words, instance, start):
    """A page whose valid form starts an action with start(): back to the instance once
    queued, or the form again with the refusal (on its field, if it names one)."""
    verb, noun = words
    if start is not None and request.method == "POST" and form.is_valid():
        try:
            start()
        except operations.Refused as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.info(request, f"{noun} of {instance.ec2_id} queued.")
            return redirect(instance)
    context = {"form": form, "title": f"{verb} {instance.ec2_id}", "submit_label": verb}
    return render(request, "nodes/object_form.html", context)


@require_POST
def instance_abort_migration(request, key):
    instance = get_object_or_404(Instance.objects.for_user(request.user), ec2_id=key)
    done = f"Aborting the migration of {instance.ec2_id}."
    abort = partial(operations.abort_migration, instance, request.user)
    return carried_out(request, abort, done, instance)


def instance_launch(request):
    initial = {"image": request.GET.get("image")}  # an image page's "Launch…"
    form = LaunchForm(
        request.POST or None, request.FILES or None, user=request.user, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        fields = {k: v for k, v in form.cleaned_data.items() if k not in ("count", "volumes")}
        wanted = form.cleaned_data["volumes"]
        try:
            if wanted:
                launched = launch_with_volumes(request.user, wanted, **fields)
            else:
                launched = operations.launch(request.user, form.cleaned_data["count"], **fields)
        except operations.QueueUnavailable as error:
            messages.error(request, str(error))
        except (operations.QuotaExceeded, operations.ActionRefused) as error:
            form.add_error(None, str(error))
        except operations.LaunchInvalid as error:
            form.add_error("volumes", str(error))
        else:
            first = launched[0][0]
            messages.info(
                request,
                f"Launching {len(launched)} instance(s), reservation {first.reservation_id}.",
            )
            return redirect(first)
    sizes = {t.name: [t.vcpus, t.memory_mb] for t in InstanceType.objects.all()}
    context = {
        "form": form,
        "title": "Launch instances",
        "quota": quota_of(request.user),
        "type_sizes": sizes,
    }
    return render(request, "nodes/instance_launch.html", context)


def quota_of(user):
    """Rows of (what, in use, limit, left) for the launch page and the account page."""
    limits, used = Quota.of(user).limits(), usage(user)
    return [
        (label, used[key], limits[key], max(0, limits[key] - used[key]))
        for key, label in operations.LABELS.items()
    ]


class ActionList(InventoryListView):
    model = Action
    columns = [
        Column("#", "pk", link=True),
        Column("Action", "get_kind_display"),
        Column("On", "subject"),
        Column("Status", "status", badge=True),
        Column("By", "owner"),
        Column("Requested", "created_at"),
        Column("Finished", "finished_at"),
        Column("Error", "error"),
    ]
    search_fields = ["^instance__ec2_id", "^volume__ec2_id"]
    filters = {"status": ActionStatus.choices, "kind": ActionKind.choices}
    empty_hint = "Every launch, start, stop, reboot … shows here with its steps and outcome."
    live_refresh = True

    def get_queryset(self):
        related = ["instance", "volume", "volume_snapshot", "owner"]
        return super().get_queryset().select_related(*related)

    def search_match(self, query):
        """The actions on the volumes whose id starts with the query (vol-…), else on the
        instances whose id or name does: found in their own table, then over the actions'
        index of it (one table a search, so that the index answers)."""
        as_id = spelled_as_id(query)
        if as_id.startswith(f"{Volume.ID_PREFIX}-"):
            return Q(volume__in=Volume.objects.filter(prefix("ec2_id", as_id)).values("pk"))
        instances = Instance.objects.filter(
            prefix("ec2_id", as_id) | prefix(Lower("name"), query.lower())
        )
        return Q(instance__in=instances.values("pk"))


class ActionDetail(InventoryDetailView):
    model = Action
    slug_field = "pk"
    fields = [
        Column("Action", "get_kind_display"),
        Column("Instance", "instance", link=True),
        Column("Volume", "volume", link=True),
        Column("Status", "status", badge=True),
        Column("By", "owner"),
        Column("Requested", "created_at"),
        Column("Started", "started_at"),
        Column("Finished", "finished_at"),
        Column("Error", "error"),
    ]
    extra_template = "nodes/action_steps.html"
    live_url_name = "kumo:action_live"


class ActionLive(DetailFragment, ActionDetail):
    """The action page's live panel: status and steps."""


class KeypairList(InventoryListView):
    model = Keypair
    columns = [
        Column("Name", "name", link=True),
        Column("Fingerprint", "fingerprint"),
        Column("SHA256", "fingerprint_sha256"),
        Column("Owner", "owner"),
        Column("Created", "created_at"),
    ]
    search_fields = ["name", "fingerprint", "fingerprint_sha256", "owner__username"]
    filters = {
        "public_key__startswith": [
            ("ssh-ed25519 ", "ed25519"),
            ("ecdsa-sha2-", "ECDSA"),
            ("ssh-rsa ", "RSA"),
        ]
    }
    filter_labels = {"public_key__startswith": "key type"}
    create_url_name = "kumo:keypair_create"
    members_create = True
    empty_hint = "Keypairs hold the SSH public keys put into your instances."


def keypair_create(request):
    """Import a public key, or generate a pair and show its private key this once."""
    form = KeypairForm(request.POST or None, owner=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                if data["public_key"]:
                    Keypair.import_public(request.user, data["name"], data["public_key"])
                    messages.success(request, f"Imported keypair {data['name']}.")
                    return redirect("kumo:keypair_list")
                keypair, private = Keypair.generate(request.user, data["name"], data["key_type"])
        except IntegrityError:  # the same name, created by a request that overtook this one
            form.add_error("name", "You already have a keypair with this name.")
        else:
            context = {"keypair": keypair, "private_key": private}
            response = render(request, "nodes/keypair_created.html", context)
            response["Cache-Control"] = "no-store"  # the private key must not linger anywhere
            return response
    return render(request, "nodes/object_form.html", {"form": form, "title": "New keypair"})


@require_POST
def keypair_delete(request, key):
    keypair = get_object_or_404(Keypair.objects.for_user(request.user), pk=key)
    keypair.delete()
    messages.success(request, f"Deleted keypair {keypair.name}; running instances keep the key.")
    return redirect("kumo:keypair_list")


class KeypairDetail(InventoryDetailView):
    model = Keypair
    slug_field = "pk"
    fields = [*KeypairList.columns[1:], Column("Public key", "public_key")]
    extra_template = "nodes/keypair_delete.html"
