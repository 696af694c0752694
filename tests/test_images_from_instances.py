"""Images made from a stopped instance's disk: the flattened copy on a private QEMU daemon,
the refusals, and a failed copy that leaves no image behind."""

import json
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from nodes import operations, runners
from nodes.choices import ActionKind, ActionStatus, DomainType, ImageStatus, VmState
from nodes.models import Action, Image, Instance, Node
from nodes.watcher import recover_stale_actions

pytestmark = pytest.mark.django_db(transaction=True)


def qemu_img_info(path):
    done = subprocess.run(
        ["qemu-img", "info", "--output=json", path], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def test_a_stopped_instance_becomes_a_launchable_image(installer, admin, api, run_jobs, settings):
    operations.request_action(installer, ActionKind.STOP, admin)
    run_jobs()
    body = {"name": "installed", "from_instance": installer.ec2_id}
    response = api.post("/api/v1/images/", body, format="json")
    assert response.status_code == 202, response.json()
    assert response.json()["image"]["status"] == ImageStatus.PENDING
    assert response.json()["action"]["action"] == ActionKind.CREATE_IMAGE
    assert not Image.objects.available().filter(name="installed").exists()  # not launchable yet
    run_jobs()

    image = Image.objects.get(name="installed")
    action = installer.actions.get(kind=ActionKind.CREATE_IMAGE)
    assert action.status == ActionStatus.SUCCEEDED, action.error
    assert (image.status, image.owner, image.is_public) == (ImageStatus.AVAILABLE, admin, False)
    assert image.cloud_init == installer.image.cloud_init  # the source image's properties
    info = qemu_img_info(image.location)
    assert info["format"] == "qcow2" and "backing-filename" not in info  # flattened
    assert image.size_bytes == Path(image.location).stat().st_size
    assert not Path(image.partial_location).exists()
    installer.refresh_from_db()
    assert (installer.vm_state, installer.task_state) == (VmState.STOPPED, None)

    launch = {"image": image.ec2_id, "instance_type": "m1.small", "node": "local"}
    response = api.post("/api/v1/instances/", launch, format="json")
    assert response.status_code == 202, response.json()
    run_jobs()
    made = Instance.objects.get(ec2_id=response.json()["instances"][0]["id"])
    assert made.vm_state == VmState.ACTIVE, made.actions.get().error
    operations.request_action(made, ActionKind.TERMINATE, admin)
    run_jobs()


@pytest.fixture
def stopped_on_a_down_node(world, cluster):
    """Member A's instance, stopped, on a QEMU node that refuses connections."""
    down = Node.objects.create(
        cluster=cluster, name="down", uri="qemu+tcp://127.0.0.1:1/system", domain_type="qemu"
    )
    instance = world["instance_a"]
    Instance.objects.filter(pk=instance.pk).update(node=down, vm_state=VmState.STOPPED)
    instance.refresh_from_db()
    return instance


def test_a_copy_that_fails_leaves_no_image_and_the_instance_usable(
    stopped_on_a_down_node, member_a, queue, run_jobs, settings, tmp_path
):
    settings.KUMO_IMAGES_DIR = tmp_path
    image, action = operations.make_image(stopped_on_a_down_node, member_a, "mine")
    assert image.status == ImageStatus.PENDING
    run_jobs()
    action.refresh_from_db()
    assert action.status == ActionStatus.FAILED and "refused" in action.error
    assert not Image.objects.filter(pk=image.pk).exists()
    assert list(tmp_path.iterdir()) == []
    stopped_on_a_down_node.refresh_from_db()
    assert (stopped_on_a_down_node.vm_state, stopped_on_a_down_node.task_state) == (
        VmState.STOPPED,
        None,
    )


def test_only_a_stopped_instance_can_become_an_image(running, api, member_a, queue):
    Node.objects.filter(pk=running.node_id).update(domain_type=DomainType.QEMU)
    api.force_authenticate(member_a)
    body = {"name": "mine", "from_instance": running.ec2_id}
    response = api.post("/api/v1/images/", body, format="json")
    assert response.status_code == 409
    assert "only from stopped" in response.json()["detail"]
    assert not Image.objects.filter(name="mine").exists()


def test_an_image_name_already_taken_is_a_field_error(stopped_on_a_down_node, api, member_a):
    api.force_authenticate(member_a)
    taken = Image.objects.filter(owner=member_a).first().name
    body = {"name": taken, "from_instance": stopped_on_a_down_node.ec2_id}
    response = api.post("/api/v1/images/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"name": [f"You already have an image named {taken}."]}


def test_the_test_driver_has_no_disk_to_copy(world, api, member_a, queue):
    Instance.objects.filter(pk=world["instance_a"].pk).update(vm_state=VmState.STOPPED)
    api.force_authenticate(member_a)
    body = {"name": "mine", "from_instance": world["instance_a"].ec2_id}
    response = api.post("/api/v1/images/", body, format="json")
    assert response.status_code == 409 and "test driver" in response.json()["detail"]


def test_a_pending_image_cannot_be_launched(stopped_on_a_down_node, api, member_a, queue):
    image, _ = operations.make_image(stopped_on_a_down_node, member_a, "mine")
    api.force_authenticate(member_a)
    launch = {"image": image.ec2_id, "instance_type": "m1.small"}
    response = api.post("/api/v1/instances/", launch, format="json")
    assert response.status_code == 400 and "image" in response.json()


def test_the_instance_page_offers_the_image_form_once_stopped(
    stopped_on_a_down_node, member_client, queue
):
    page = member_client.get(f"/instances/{stopped_on_a_down_node.ec2_id}/").content.decode()
    assert "Make an image…" in page
    url = f"/instances/{stopped_on_a_down_node.ec2_id}/image/"
    response = member_client.post(url, {"name": "from-the-page"})
    image = Image.objects.get(name="from-the-page")
    assert response.status_code == 302 and response["Location"] == image.get_absolute_url()
    assert "Pending" in member_client.get(response["Location"]).content.decode()


def test_reset_state_discards_the_image_being_made(stopped_on_a_down_node, member_a, admin, queue):
    image, _ = operations.make_image(stopped_on_a_down_node, member_a, "mine")
    reset = operations.request_action(stopped_on_a_down_node, ActionKind.RESET_STATE, admin)
    Instance.objects.filter(pk=stopped_on_a_down_node.pk).update(node=None)  # nothing to ask
    runners.reset_state(runners.Run(Action.objects.get(pk=reset.pk)))
    assert not Image.objects.filter(pk=image.pk).exists()


def test_an_image_whose_job_was_lost_is_discarded_by_the_watcher(
    stopped_on_a_down_node, member_a, queue
):
    image, action = operations.make_image(stopped_on_a_down_node, member_a, "mine")
    queue.empty()  # as if Redis had lost the job a while ago
    Action.objects.filter(pk=action.pk).update(created_at=timezone.now() - timedelta(hours=1))
    recover_stale_actions()
    action.refresh_from_db()
    assert action.status == ActionStatus.FAILED
    assert not Image.objects.filter(pk=image.pk).exists()


def test_terminate_waits_for_the_copy_of_a_disk(stopped_on_a_down_node, member_a, queue):
    operations.make_image(stopped_on_a_down_node, member_a, "mine")
    with pytest.raises(operations.ActionRefused, match="busy \\(making an image\\)"):
        operations.request_action(stopped_on_a_down_node, ActionKind.TERMINATE, member_a)


def test_an_adopted_instance_cannot_become_an_image(stopped_on_a_down_node, member_a, queue):
    stopped_on_a_down_node.actions.create(
        kind=ActionKind.ADOPT, job_id="adopted", status="succeeded"
    )
    with pytest.raises(operations.ActionRefused, match="was adopted"):
        operations.make_image(stopped_on_a_down_node, member_a, "mine")


def test_a_long_copy_shows_how_far_it_got(stopped_on_a_down_node, member_a, queue):
    _, action = operations.make_image(stopped_on_a_down_node, member_a, "mine")
    run = runners.Run(action)
    action.add_step("Download it to the console host")
    run.last_beat -= runners.BEAT_EVERY_S  # a few seconds into the step
    run.progress("1.00 of 2.00 GiB")
    action.refresh_from_db()
    assert action.steps[-1]["detail"] == "1.00 of 2.00 GiB"
