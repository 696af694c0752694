"""Volumes on the test driver's daemon: their bookkeeping through the API (create, delete,
the refusals, quotas) and in instance.xml; attaching is on QEMU (test_volumes_qemu.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from lxml import etree

from nodes import operations
from nodes.choices import ActionKind, VmState, VolumeStatus
from nodes.domainxml import pipeline
from nodes.libvirt import Hypervisor
from nodes.models import Action, Instance, Node, Quota
from nodes.probing import probe_and_record
from nodes.storage import volumes
from nodes.storage.models import StoragePool, Volume, VolumeSnapshot
from nodes.watcher import recover_stale_actions
from tests.conftest import attached_volume

pytestmark = pytest.mark.django_db(transaction=True)
GIB = 1 << 30


def create(api, user, node, size_gib=1, name="data"):
    api.force_authenticate(user)
    body = {"name": name, "size_gib": size_gib, "node": node.name}
    return api.post("/api/v1/volumes/", body, format="json")


def test_a_volume_is_made_on_the_nodes_volume_pool(api, admin, sim_node, queue, run_jobs):
    response = create(api, admin, sim_node, size_gib=2)
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["volume"]["status"] == "creating" and body["volume"]["id"].startswith("vol-")
    assert body["action"]["action"] == "create_volume" and body["action"]["volume"]
    run_jobs()
    volume = Volume.objects.get(ec2_id=body["volume"]["id"])
    assert volume.status == VolumeStatus.AVAILABLE, Action.objects.get(volume=volume).error
    with Hypervisor(sim_node.endpoint(), 10) as hypervisor:
        pool = hypervisor.connection.storagePoolLookupByName(Volume.POOL)
        assert pool.storageVolLookupByName(volume.file_name).info()[1] == 2 * GIB


def test_a_deleted_volume_leaves_the_node_and_the_list(api, admin, sim_node, queue, run_jobs):
    volume_id = create(api, admin, sim_node).json()["volume"]["id"]
    run_jobs()
    response = api.delete(f"/api/v1/volumes/{volume_id}/")
    assert response.status_code == 202 and response.json()["volume"]["status"] == "deleting"
    run_jobs()
    volume = Volume.objects.get(ec2_id=volume_id)
    assert volume.status == VolumeStatus.DELETED and volume.deleted_at
    assert volume_id not in [v["id"] for v in api.get("/api/v1/volumes/").json()["results"]]
    with Hypervisor(sim_node.endpoint(), 10) as hypervisor:
        pool = hypervisor.connection.storagePoolLookupByName(Volume.POOL)
        assert volume.file_name not in pool.listVolumes()


def test_a_volume_bigger_than_the_pools_room_is_refused_with_the_figures(
    api, admin, sim_node, queue
):
    probe_and_record(sim_node)
    room = {"capacity_bytes": 10 * GIB, "allocation_bytes": 7 * GIB, "available_bytes": 3 * GIB}
    StoragePool.objects.update_or_create(
        node=sim_node,
        name=Volume.POOL,
        defaults={"type": "dir", "active": True, "seen_at": sim_node.last_seen, **room},
    )
    response = create(api, admin, sim_node, size_gib=4)
    assert response.status_code == 409
    assert "3.0 GiB free, 4.0 GiB are needed" in response.json()["size_gib"][0]
    assert not Volume.objects.exists()


def test_the_node_refuses_a_volume_it_has_no_room_for(api, admin, sim_node, queue, run_jobs):
    """The probe's figure may be old: the create action checks the pool itself."""
    volume_id = create(api, admin, sim_node, size_gib=500).json()["volume"]["id"]  # pool: 100
    run_jobs()
    volume = Volume.objects.get(ec2_id=volume_id)
    assert volume.status == VolumeStatus.ERROR
    assert "the volume needs 500.0 GiB" in volume.actions.get().error


def test_a_member_creates_volumes_only_within_the_quota(api, member_a, world, queue):
    Quota.objects.create(user=member_a, volumes=1, volume_gib=5)
    response = create(api, member_a, world["instance_a"].node, size_gib=6)
    assert response.status_code == 400
    assert "volume size (GiB): 0 in use + 6 > 5" in response.json()["quota"][0]
    assert create(api, member_a, world["instance_a"].node).status_code == 202
    response = create(api, member_a, world["instance_a"].node)
    assert "volumes: 1 in use + 1 > 1" in response.json()["quota"][0]


def test_a_member_may_place_volumes_only_where_their_instances_run(
    api, member_a, world, sim_node, queue
):
    world["instance_a"].node = None
    world["instance_a"].save()
    response = create(api, member_a, sim_node)
    assert response.status_code == 400 and "node" in response.json()


def test_an_attached_volume_cannot_be_deleted(api, admin, world, queue):
    instance = world["instance_a"]
    volume = attached_volume(instance, admin)
    api.force_authenticate(admin)
    response = api.delete(f"/api/v1/volumes/{volume.ec2_id}/")
    assert response.status_code == 409
    assert response.json()["detail"] == f"{volume.ec2_id} is in use by {instance}: detach it first."


def test_a_volume_attaches_only_to_an_instance_on_its_node(api, admin, world, local_node, queue):
    volume = Volume.objects.create(owner=admin, node=local_node, size_gib=1, status="available")
    api.force_authenticate(admin)
    body = {"instance": world["instance_a"].ec2_id}
    response = api.post(f"/api/v1/volumes/{volume.ec2_id}/attach/", body, format="json")
    assert response.status_code == 409
    assert "a volume attaches only to an instance on its node" in response.json()["instance"][0]


def test_a_volume_in_use_cannot_be_attached_again(api, admin, world, queue, local_node):
    first, second = world["instance_a"], world["instance_b"]
    for instance in (first, second):
        instance.node, instance.vm_state, instance.owner = local_node, VmState.STOPPED, admin
        instance.save()
    volume = attached_volume(first, admin)
    api.force_authenticate(admin)
    body = {"instance": second.ec2_id}
    response = api.post(f"/api/v1/volumes/{volume.ec2_id}/attach/", body, format="json")
    assert response.status_code == 409
    assert "is in use by" in response.json()["detail"]
    second.refresh_from_db()
    assert second.task_state is None  # the instance's claim was undone with the volume's


def test_detaching_a_volume_that_is_not_attached_is_refused(api, admin, sim_node, queue):
    volume = Volume.objects.create(owner=admin, node=sim_node, size_gib=1, status="available")
    api.force_authenticate(admin)
    response = api.post(f"/api/v1/volumes/{volume.ec2_id}/detach/")
    assert response.status_code == 409
    assert response.json()["detail"] == f"{volume.ec2_id} is not attached to an instance."


def test_the_test_driver_refuses_attaching_before_anything_is_queued(api, admin, world, queue):
    instance = world["instance_a"]
    volume = Volume.objects.create(
        owner=instance.owner, node=instance.node, size_gib=1, status="available"
    )
    api.force_authenticate(admin)
    body = {"instance": instance.ec2_id}
    response = api.post(f"/api/v1/volumes/{volume.ec2_id}/attach/", body, format="json")
    assert response.status_code == 409 and "test driver cannot attach" in response.json()["detail"]
    assert not Action.objects.filter(kind=ActionKind.ATTACH_VOLUME).exists()


def test_a_member_sees_only_their_volumes(api, member_a, member_b, sim_node):
    mine = Volume.objects.create(owner=member_a, node=sim_node, size_gib=1, status="available")
    theirs = Volume.objects.create(owner=member_b, node=sim_node, size_gib=1, status="available")
    api.force_authenticate(member_a)
    listed = [v["id"] for v in api.get("/api/v1/volumes/").json()["results"]]
    assert listed == [mine.ec2_id]
    assert api.get(f"/api/v1/volumes/{theirs.ec2_id}/").status_code == 404


def test_attached_volumes_are_in_instance_xml_as_eucalyptus_writes_them(admin, world):
    instance = world["instance_a"]
    volume = attached_volume(instance, admin)
    document = etree.fromstring(pipeline.instance_xml(instance))
    [entry] = document.findall("volumes/volume")
    assert entry.get("id") == volume.ec2_id and entry.get("localDev") == "vdc"
    disk = entry.find("diskPath")
    assert disk.text == f"{instance.node.volumes_path}/{volume.ec2_id}.qcow2"
    assert disk.get("serial") == volume.ec2_id and disk.get("targetDeviceNameVirtio") == "vdc"


def test_the_default_rule_renders_an_attached_volume_with_its_serial(admin, world):
    instance = world["instance_a"]
    volume = attached_volume(instance, admin)
    domain = etree.fromstring(pipeline.render(instance).domain_text.encode())
    [disk] = [d for d in domain.iterfind("devices/disk") if d.findtext("serial") == volume.ec2_id]
    assert disk.find("target").get("dev") == "vdc"
    assert disk.find("source").get("file").endswith(f"/{volume.ec2_id}.qcow2")


def test_terminate_leaves_the_instances_volumes_available(api, admin, world, queue, run_jobs):
    instance = world["instance_a"]
    instance.vm_state = VmState.STOPPED
    instance.save()
    volume = attached_volume(instance, admin)
    api.force_authenticate(admin)
    api.post(f"/api/v1/instances/{instance.ec2_id}/actions/", {"action": "terminate"})
    run_jobs()
    volume.refresh_from_db()
    assert (volume.status, volume.instance, volume.device) == ("available", None, "")


def test_terminate_deletes_the_volumes_when_asked(api, admin, world, sim_node, queue, run_jobs):
    instance = world["instance_a"]
    instance.node, instance.vm_state = sim_node, VmState.STOPPED
    instance.save()
    volume = attached_volume(instance, admin)
    api.force_authenticate(admin)
    body = {"action": "terminate", "delete_volumes": True}
    response = api.post(f"/api/v1/instances/{instance.ec2_id}/actions/", body, format="json")
    assert response.status_code == 202, response.content
    run_jobs()
    volume.refresh_from_db()
    assert volume.status == VolumeStatus.DELETED and volume.deleted_at
    terminate = Action.objects.get(instance=instance, kind=ActionKind.TERMINATE)
    assert f"Queue deleting {volume.ec2_id}" in [step["name"] for step in terminate.steps]


def test_only_terminate_deletes_volumes(api, admin, world, queue):
    api.force_authenticate(admin)
    body = {"action": "stop", "delete_volumes": True}
    url = f"/api/v1/instances/{world['instance_a'].ec2_id}/actions/"
    response = api.post(url, body, format="json")
    assert response.status_code == 400 and "delete_volumes" in response.json()


def test_a_volume_whose_job_was_lost_is_given_back_by_the_watcher(api, admin, sim_node, queue):
    volume_id = create(api, admin, sim_node).json()["volume"]["id"]
    queue.empty()  # as if Redis had lost the job a while ago
    action = Action.objects.get(volume__ec2_id=volume_id)
    Action.objects.filter(pk=action.pk).update(created_at=timezone.now() - timedelta(hours=1))
    recover_stale_actions()
    action.refresh_from_db()
    assert action.status == "failed"
    assert Volume.objects.get(ec2_id=volume_id).status == VolumeStatus.ERROR  # to delete


def test_a_failed_attach_leaves_both_free(admin, world, local_node, queue, run_jobs):
    instance = world["instance_a"]
    instance.node, instance.vm_state = local_node, VmState.STOPPED
    instance.save()  # the database says stopped; the node has no such domain
    volume = Volume.objects.create(
        owner=instance.owner, node=local_node, size_gib=1, status="available"
    )
    action = volumes.attach_volume(volume, instance, admin)
    run_jobs()
    action.refresh_from_db()
    volume.refresh_from_db()
    instance.refresh_from_db()
    assert action.status == "failed" and "no domain" in action.error
    assert (volume.status, volume.instance, volume.device) == ("available", None, "")
    assert instance.task_state is None


def launch(api, user, world, **extra):
    api.force_authenticate(user)
    body = {"image": world["public_image"].ec2_id, "instance_type": "m1.small", **extra}
    return api.post("/api/v1/instances/", body, format="json")


def test_a_launch_attaches_existing_and_new_volumes_in_order(
    api, admin, world, sim_node, queue, run_jobs
):
    assert probe_and_record(sim_node)
    kept = create(api, admin, sim_node).json()["volume"]["id"]
    run_jobs()
    response = launch(api, admin, world, volumes=[{"id": kept}, {"size_gib": 2}])
    assert response.status_code == 202, response.json()
    instance_id = response.json()["instances"][0]["id"]
    assert response.json()["instances"][0]["node"] == sim_node.name  # the volume's node
    run_jobs()
    launched = Action.objects.get(instance__ec2_id=instance_id)
    assert launched.status == "succeeded", launched.error
    attached = Volume.objects.filter(instance__ec2_id=instance_id).order_by("device")
    assert [(v.ec2_id == kept, v.device, v.status) for v in attached] == [
        (True, "vdc", "in-use"),
        (False, "vdd", "in-use"),
    ]
    new = attached[1]
    assert (new.size_gib, new.node, new.owner) == (2, sim_node, admin)
    instance = new.instance
    assert instance.vm_state == VmState.ACTIVE, instance.actions.get().error
    assert new.ec2_id in instance.domain_xml and kept in instance.domain_xml

    api.post(f"/api/v1/instances/{instance_id}/actions/", {"action": "terminate"})
    run_jobs()
    assert set(Volume.objects.values_list("status", flat=True)) == {"available"}


def test_a_launch_with_volumes_is_refused_whole(api, member_a, world, sim_node, queue):
    theirs = Volume.objects.create(owner=member_a, node=sim_node, size_gib=1, status="in-use")
    Volume.objects.filter(pk=theirs.pk).update(status="creating")
    response = launch(api, member_a, world, volumes=[{"id": theirs.ec2_id}])
    assert response.status_code == 409 and "while it is creating" in response.json()["detail"]
    response = launch(api, member_a, world, volumes=[{"size_gib": 1}], count=2)
    assert response.status_code == 400 and "one instance" in response.json()["volumes"][0]
    response = launch(api, member_a, world, volumes=[{"size_gib": 100}])
    assert "volume size (GiB): 1 in use + 100 > 100" in response.json()["quota"][0]
    response = launch(api, member_a, world, volumes=[{"id": theirs.ec2_id, "size_gib": 1}])
    assert response.status_code == 400
    assert Volume.objects.count() == 1 and world["instance_a"].owner.instances.count() == 1


def test_a_failed_launch_frees_its_volumes(api, admin, world, sim_node, queue, run_jobs):
    kept = Volume.objects.create(owner=admin, node=sim_node, size_gib=1, status="available")
    response = launch(api, admin, world, volumes=[{"id": kept.ec2_id}, {"size_gib": 1}])
    assert response.status_code == 202, response.json()
    Node.objects.filter(pk=sim_node.pk).update(uri="qemu+tcp://127.0.0.1:1/system")  # down
    run_jobs()
    kept.refresh_from_db()
    assert (kept.status, kept.instance) == ("available", None)
    new = Volume.objects.exclude(pk=kept.pk).get()
    assert (new.status, new.instance) == ("error", None)  # never made: to delete


def test_a_member_sees_the_actions_on_their_snapshots(api, member_a, sim_node):
    snapshot = VolumeSnapshot.objects.create(
        volume_ec2_id="vol-1A2B3C4D", owner=member_a, node=sim_node, size_gib=1
    )
    action = Action.objects.create(
        kind=ActionKind.DELETE_VOLUME_SNAPSHOT, volume_snapshot=snapshot, job_id="snap-1"
    )
    api.force_authenticate(member_a)
    body = api.get(f"/api/v1/actions/{action.pk}/").json()
    assert (body["instance"], body["volume"], body["volume_snapshot"]) == (
        None,
        None,
        snapshot.ec2_id,
    )


def test_a_volume_attaches_only_to_its_owners_instances(admin, member_a, world, local_node):
    instance = world["instance_a"]
    instance.node, instance.vm_state = local_node, VmState.STOPPED
    instance.save()
    volume = Volume.objects.create(owner=admin, node=local_node, size_gib=1, status="available")
    with pytest.raises(operations.ActionRefused, match="attaches only to its owner's"):
        volumes.attach_volume(volume, instance, admin)


def test_volumes_and_instance_snapshots_do_not_mix(member_a, world, local_node, queue):
    instance = world["instance_a"]
    instance.node, instance.vm_state = local_node, VmState.STOPPED
    instance.save()
    volume = Volume.objects.create(owner=member_a, node=local_node, size_gib=1, status="available")
    snapshot = instance.snapshots.create(name="before")
    with pytest.raises(operations.ActionRefused, match="has snapshots"):
        volumes.attach_volume(volume, instance, member_a)
    snapshot.delete()
    Volume.objects.filter(pk=volume.pk).update(status="in-use", instance=instance, device="vdc")
    with pytest.raises(operations.ActionRefused, match="has volumes attached"):
        operations.request_action(instance, ActionKind.SNAPSHOT, member_a)


def test_a_volume_its_launch_never_placed_is_refused_not_a_crash(api, member_a, world, queue):
    volume = Volume.objects.create(owner=member_a, size_gib=1, status="error")
    api.force_authenticate(member_a)
    body = {"instance": world["instance_a"].ec2_id}
    response = api.post(f"/api/v1/volumes/{volume.ec2_id}/attach/", body, format="json")
    assert response.status_code == 409 and "was never made" in response.json()["detail"]


def test_a_launch_that_failed_after_defining_its_domain_keeps_its_volumes(
    admin, world, sim_node, queue
):
    instance = world["instance_a"]
    volume = Volume.objects.create(
        owner=instance.owner,
        node=sim_node,
        size_gib=1,
        status="attaching",
        instance=instance,
        device="vdc",
    )
    Instance.objects.filter(pk=instance.pk).update(domain_xml="<domain/>", task_state="spawning")
    action = Action.objects.create(instance=instance, kind=ActionKind.LAUNCH, job_id="lost-1")
    Action.objects.filter(pk=action.pk).update(created_at=timezone.now() - timedelta(hours=1))
    recover_stale_actions()
    volume.refresh_from_db()
    assert (volume.status, volume.instance) == ("in-use", instance)  # its domain may run
