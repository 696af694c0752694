"""The volume pages: the list, creating one, its page with what can be done now, and the
instance page's list of its volumes; attaching itself is on QEMU (test_volumes_qemu.py)."""

import pytest

from nodes.choices import ActionKind
from nodes.models import Action
from nodes.storage.models import Volume
from tests.conftest import attached_volume

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_list_says_what_volumes_are_when_there_are_none(member_client, world):
    page = member_client.get("/volumes/").content.decode()
    assert "it outlives the instance" in page


def test_a_member_creates_a_volume_on_the_node_of_their_instance(
    member_client, member_a, world, queue
):
    node = world["instance_a"].node
    response = member_client.post("/volumes/new/", {"name": "data", "size_gib": 2, "node": node.pk})
    volume = Volume.objects.get(owner=member_a)
    assert response.status_code == 302 and response["Location"] == f"/volumes/{volume.ec2_id}/"
    assert (volume.name, volume.size_gib, volume.status) == ("data", 2, "creating")
    assert Action.objects.get(volume=volume).kind == ActionKind.CREATE_VOLUME


def test_a_volume_too_big_for_the_quota_is_a_form_error(member_client, world, queue):
    node = world["instance_a"].node
    response = member_client.post("/volumes/new/", {"size_gib": 101, "node": node.pk})
    assert response.status_code == 200
    assert "volume size (GiB): 0 in use + 101 &gt; 100" in response.content.decode()
    assert not Volume.objects.exists()


def test_a_free_volume_offers_attach_and_delete_with_a_confirmation(member_client, world):
    volume = Volume.objects.create(
        owner=world["instance_a"].owner,
        node=world["instance_a"].node,
        size_gib=1,
        status="available",
    )
    page = member_client.get(f"/volumes/{volume.ec2_id}/").content.decode()
    assert "Attach to" in page and f"Delete {volume.ec2_id} and everything on it?" in page
    assert ">Detach<" not in page


def test_an_attached_volume_offers_detach_and_shows_on_the_instance_page(member_client, world):
    instance = world["instance_a"]
    volume = attached_volume(instance, instance.owner)
    page = member_client.get(f"/volumes/{volume.ec2_id}/").content.decode()
    assert f"Detach {volume.ec2_id} from {instance.ec2_id}?" in page and ">Delete<" not in page
    assert f"/dev/disk/by-id/virtio-{volume.ec2_id}" in page
    page = member_client.get(f"/instances/{instance.ec2_id}/").content.decode()
    assert volume.ec2_id in page and "vdc" in page


def test_deleting_an_attached_volume_says_why_not(member_client, world, queue):
    instance = world["instance_a"]
    volume = attached_volume(instance, instance.owner)
    response = member_client.post(f"/volumes/{volume.ec2_id}/delete/", follow=True)
    assert "detach it first" in response.content.decode()
    volume.refresh_from_db()
    assert volume.status == "in-use"


def test_the_instance_page_offers_to_terminate_it_with_its_volumes(member_client, world, queue):
    instance = world["instance_a"]
    volume = attached_volume(instance, instance.owner)
    page = member_client.get(f"/instances/{instance.ec2_id}/live/").content.decode()
    assert f"and delete its volumes {volume.ec2_id}? Their data is lost" in page
    member_client.post(f"/instances/{instance.ec2_id}/actions/terminate/", {"delete_volumes": "1"})
    assert Action.objects.get(instance=instance).kind == ActionKind.TERMINATE
    volume.refresh_from_db()
    assert volume.delete_on_termination
