"""Instance actions on the libvirt test driver served by the daemon (test+unix:///default):
launch, every action from allowed and forbidden states, conflicts, pre-emption, failures."""

import pytest

from nodes import operations
from nodes.choices import ActionKind, VmState
from nodes.models import Action, Image, Instance, InstanceType, Node, Quota
from nodes.states import ALLOWED_FROM, ON_SNAPSHOT, RESULT, USER_ACTIONS
from tests.libvirtd import FIRST


@pytest.fixture
def launched(api, member_a, demo_sim, queue, run_jobs, django_capture_on_commit_callbacks):
    """A running instance of member_a on the sim node, launched through the API."""
    api.force_authenticate(member_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/instances/",
            {
                "image": Image.objects.get(kind="machine").ec2_id,
                "instance_type": "m1.small",
                "name": "web",
                "user_data": "bootparams=console=ttyS0",
            },
            format="json",
        )
    assert response.status_code == 202, response.json()
    run_jobs()
    instance = Instance.objects.get(ec2_id=response.json()["instances"][0]["id"])
    yield instance
    instance.refresh_from_db()
    if instance.vm_state != VmState.DELETED:
        act(api, instance, "terminate", run_jobs, django_capture_on_commit_callbacks)


def act(api, instance, kind, run_jobs, capture):
    with capture(execute=True):
        response = api.post(
            f"/api/v1/instances/{instance.ec2_id}/actions/", {"action": kind}, format="json"
        )
    if response.status_code == 202:
        run_jobs()
    instance.refresh_from_db()
    return response


def test_a_launch_places_defines_and_starts_the_instance(launched, api):
    assert (launched.vm_state, launched.task_state, launched.power_state) == (
        "active",
        None,
        "running",
    )
    assert launched.node.name == "sim" and launched.launched_at
    assert "<domain" in launched.domain_xml and launched.rendered_with
    body = api.get(f"/api/v1/actions/?instance={launched.ec2_id}").json()["results"][0]
    assert (body["action"], body["status"], body["error"]) == ("launch", "succeeded", "")
    assert [step["name"] for step in body["steps"]][:2] == [
        "Choose a node",
        "Render the domain XML",
    ]
    assert "sim: accepted" in body["steps"][0]["detail"]


@pytest.mark.parametrize(
    ("steps", "state", "power"),
    [
        (["stop"], "stopped", "shutoff"),
        (["stop", "start"], "active", "running"),
        (["reboot"], "active", "running"),
        (["hard_reboot"], "active", "running"),
        (["pause"], "paused", "paused"),
        (["pause", "unpause"], "active", "running"),
        (["suspend"], "suspended", "shutoff"),
        (["suspend", "resume"], "active", "running"),
        (["snapshot"], "active", "running"),
        (["terminate"], "deleted", "nostate"),
    ],
)
def test_each_action_reaches_its_state(
    launched, api, run_jobs, django_capture_on_commit_callbacks, steps, state, power
):
    for kind in steps:
        response = act(api, launched, kind, run_jobs, django_capture_on_commit_callbacks)
        assert response.status_code == 202, response.json()
        action = Action.objects.get(pk=response.json()["action"]["id"])
        assert action.status == "succeeded", action.error
    assert (launched.vm_state, launched.task_state, launched.power_state) == (state, None, power)


# How to bring a launched (active) instance to each state; error is set as a failure would.
REACH = {"active": [], "stopped": ["stop"], "paused": ["pause"], "suspended": ["suspend"]}
MATRIX_ACTIONS = [k for k in USER_ACTIONS if k not in ON_SNAPSHOT and k != "reset_state"]


@pytest.mark.parametrize("kind", MATRIX_ACTIONS)
@pytest.mark.parametrize("state", [*REACH, "error"])
def test_every_action_from_every_state_runs_or_gets_409_with_the_reason(
    launched, api, run_jobs, django_capture_on_commit_callbacks, state, kind
):
    for step in REACH.get(state, []):
        act(api, launched, step, run_jobs, django_capture_on_commit_callbacks)
    if state == "error":
        Instance.objects.filter(pk=launched.pk).update(vm_state=VmState.ERROR)
    launched.refresh_from_db()
    assert launched.vm_state == state
    actions_before = launched.actions.count()
    response = act(api, launched, kind, run_jobs, django_capture_on_commit_callbacks)
    if state not in ALLOWED_FROM[kind]:
        assert response.status_code == 409
        assert f"while it is {state}" in response.json()["detail"]
        assert launched.actions.count() == actions_before
        return
    assert response.status_code == 202, response.json()
    action = Action.objects.get(pk=response.json()["action"]["id"])
    assert action.status == "succeeded", action.error
    assert (launched.vm_state, launched.task_state) == (RESULT.get(kind, state), None)


def test_a_busy_instance_refuses_a_second_action(launched, member_a):
    launched.task_state = None
    operations.request_action(launched, ActionKind.STOP, member_a)
    with pytest.raises(operations.ActionRefused, match="busy"):
        operations.request_action(launched, ActionKind.PAUSE, member_a)


def test_terminate_preempts_a_running_action(
    launched, member_a, run_jobs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        stop = operations.request_action(launched, ActionKind.STOP, member_a)
        operations.request_action(launched, ActionKind.TERMINATE, member_a)
    run_jobs()
    stop.refresh_from_db()
    launched.refresh_from_db()
    assert stop.status == "failed" and "took this instance over" in stop.error
    assert launched.vm_state == "deleted"


def test_members_cannot_reset_state_but_admins_can(
    launched, api, admin, run_jobs, django_capture_on_commit_callbacks
):
    assert (
        act(api, launched, "reset_state", run_jobs, django_capture_on_commit_callbacks).status_code
        == 403
    )
    Instance.objects.filter(pk=launched.pk).update(vm_state="error", task_state="rebooting")
    api.force_authenticate(admin)
    assert (
        act(api, launched, "reset_state", run_jobs, django_capture_on_commit_callbacks).status_code
        == 202
    )
    assert (launched.vm_state, launched.task_state, launched.power_state) == (
        "active",
        None,
        "running",
    )


def test_another_members_instance_is_404(
    launched, api, member_b, run_jobs, django_capture_on_commit_callbacks
):
    api.force_authenticate(member_b)
    assert (
        act(api, launched, "stop", run_jobs, django_capture_on_commit_callbacks).status_code == 404
    )
    assert api.get(f"/api/v1/actions/?instance={launched.ec2_id}").json()["count"] == 0


def test_an_unknown_action_is_400(launched, api, run_jobs, django_capture_on_commit_callbacks):
    assert (
        act(api, launched, "explode", run_jobs, django_capture_on_commit_callbacks).status_code
        == 400
    )


def test_no_node_fits_puts_the_instance_in_error_with_why(
    api, member_a, demo_sim, run_jobs, django_capture_on_commit_callbacks
):
    InstanceType.objects.create(name="huge", vcpus=512, memory_mb=64, disk_gb=1)
    Quota.objects.create(user=member_a, vcpus=1000)  # past the quota, on to placement
    api.force_authenticate(member_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/instances/",
            {"image": Image.objects.get(kind="machine").ec2_id, "instance_type": "huge"},
            format="json",
        )
    run_jobs()
    instance = Instance.objects.get(ec2_id=response.json()["instances"][0]["id"])
    action = instance.actions.get()
    assert instance.vm_state == "error" and instance.task_state is None
    assert (
        "sim: 512 vCPUs would exceed its 64" in action.error and "local: disabled" in action.error
    )


def test_redis_down_refuses_a_launch_and_writes_nothing(api, member_a, demo_sim, settings):
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0", "SOCKET_TIMEOUT": 1}}
    api.force_authenticate(member_a)
    response = api.post(
        "/api/v1/instances/",
        {"image": Image.objects.get(kind="machine").ec2_id, "instance_type": "m1.small"},
        format="json",
    )
    assert response.status_code == 503 and "not reachable" in response.json()["detail"]
    assert not Instance.objects.exists()


def test_launch_input_is_checked(api, member_a, member_b, demo_sim):
    private = Image.objects.create(owner=member_b, name="hers", location="/x", kind="machine")
    api.force_authenticate(member_a)
    response = api.post(
        "/api/v1/instances/",
        {"image": private.ec2_id, "instance_type": "nope", "count": 99, "user_data": "x" * 17000},
        format="json",
    )
    errors = response.json()
    assert response.status_code == 400
    assert set(errors) == {"image", "instance_type", "count", "user_data"}


def test_snapshots_are_listed_reverted_and_deleted(
    launched, api, run_jobs, django_capture_on_commit_callbacks
):
    assert (
        act(api, launched, "snapshot", run_jobs, django_capture_on_commit_callbacks).status_code
        == 202
    )
    [snapshot] = api.get(f"/api/v1/instances/{launched.ec2_id}/snapshots/").json()
    assert snapshot["name"].startswith(launched.ec2_id)
    act(api, launched, "stop", run_jobs, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/v1/instances/{launched.ec2_id}/actions/",
            {"action": "revert_snapshot", "snapshot": snapshot["name"]},
            format="json",
        )
    assert response.status_code == 202, response.json()
    run_jobs()
    launched.refresh_from_db()
    assert (launched.vm_state, launched.power_state) == ("active", "running")  # taken running
    with django_capture_on_commit_callbacks(execute=True):
        api.post(
            f"/api/v1/instances/{launched.ec2_id}/actions/",
            {"action": "delete_snapshot", "snapshot": snapshot["name"]},
            format="json",
        )
    run_jobs()
    assert api.get(f"/api/v1/instances/{launched.ec2_id}/snapshots/").json() == []


def test_a_snapshot_action_names_an_existing_snapshot(
    launched, api, run_jobs, django_capture_on_commit_callbacks
):
    response = api.post(
        f"/api/v1/instances/{launched.ec2_id}/actions/",
        {"action": "revert_snapshot", "snapshot": "nope"},
        format="json",
    )
    assert response.status_code == 400 and "snapshot" in response.json()
    assert (
        act(
            api, launched, "delete_snapshot", run_jobs, django_capture_on_commit_callbacks
        ).status_code
        == 409
    )


def test_a_full_disk_rejects_the_node(
    api, member_a, demo_sim, run_jobs, django_capture_on_commit_callbacks
):
    Node.objects.filter(pk=demo_sim.pk).update(disk_gb=4)
    api.force_authenticate(member_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/instances/",
            {"image": Image.objects.get(kind="machine").ec2_id, "instance_type": "m1.small"},
            format="json",
        )
    run_jobs()
    action = Instance.objects.get(ec2_id=response.json()["instances"][0]["id"]).actions.get()
    assert "sim: 5 GiB of disks would exceed its 4 GiB" in action.error


def test_an_unreachable_node_fails_the_action_in_time_with_the_reason(
    launched, api, member_a, silent_host, settings, run_jobs, django_capture_on_commit_callbacks
):
    import time

    settings.KUMO_PROBE_TIMEOUT = 2
    Node.objects.filter(pk=launched.node_id).update(
        uri=f"qemu+tcp://127.0.0.1:{silent_host}/system"
    )
    started = time.monotonic()
    response = act(api, launched, "stop", run_jobs, django_capture_on_commit_callbacks)
    action = Action.objects.get(pk=response.json()["action"]["id"])
    assert time.monotonic() - started < 5
    assert action.status == "failed" and "did not answer within 2 s" in action.error
    assert (launched.vm_state, launched.task_state) == ("active", None)  # usable again
    Node.objects.filter(pk=launched.node_id).update(uri=FIRST.test_uri)


def test_a_keypair_is_chosen_among_the_callers_own(api, admin, member_a, demo_sim, queue):
    from nodes.models import Keypair

    Keypair.generate(member_a, "main")
    mine, _ = Keypair.generate(admin, "main")
    api.force_authenticate(admin)
    response = api.post(
        "/api/v1/instances/",
        {
            "image": Image.objects.get(kind="machine").ec2_id,
            "instance_type": "m1.small",
            "keypair": "main",
        },
        format="json",
    )
    assert response.status_code == 202
    assert Instance.objects.get(ec2_id=response.json()["instances"][0]["id"]).keypair == mine
    api.force_authenticate(member_a)
    theirs = api.post(
        "/api/v1/instances/",
        {
            "image": Image.objects.get(kind="machine").ec2_id,
            "instance_type": "m1.small",
            "keypair": "nope",
        },
        format="json",
    )
    assert theirs.status_code == 400 and "keypair" in theirs.json()


def test_instance_names_take_unicode_but_not_too_much(api, member_a, demo_sim, queue):
    api.force_authenticate(member_a)
    body = {"image": Image.objects.get(kind="machine").ec2_id, "instance_type": "m1.small"}
    assert (
        api.post("/api/v1/instances/", {**body, "name": "雲-ü"}, format="json").status_code == 202
    )
    too_long = api.post("/api/v1/instances/", {**body, "name": "n" * 256}, format="json")
    assert too_long.status_code == 400 and "name" in too_long.json()


def test_deleting_a_keypair_leaves_its_instances_their_key(
    api, member_a, demo_sim, queue, run_jobs, django_capture_on_commit_callbacks
):
    from nodes.domainxml import pipeline
    from nodes.models import Keypair

    keypair, _ = Keypair.generate(member_a, "main")
    api.force_authenticate(member_a)
    body = {
        "image": Image.objects.get(kind="machine").ec2_id,
        "instance_type": "m1.small",
        "keypair": "main",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/instances/", body, format="json")
    run_jobs()
    instance = Instance.objects.get(ec2_id=response.json()["instances"][0]["id"])
    api.delete("/api/v1/keypairs/main/")
    instance.refresh_from_db()
    assert instance.keypair is None and instance.public_key == keypair.public_key
    assert keypair.public_key in pipeline.instance_xml(instance).decode()
