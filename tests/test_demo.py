"""`manage.py seeddemo`: the demo cloud, created once."""

import io

from django.contrib.auth import get_user_model
from django.core.management import call_command

from nodes.domainxml import library
from nodes.libvirt.private import DEMO_SECOND
from nodes.models import Cluster, Image, InstanceType, Node, Rule
from tests.conftest import logs_in


def counts():
    models = [Cluster, Node, Image, InstanceType, Rule, get_user_model()]
    return [model.objects.count() for model in models]


def test_it_seeds_the_demo_cloud(seeded):
    nodes = {n.name: (n.uri, n.domain_type, n.cluster.name) for n in Node.objects.all()}
    assert nodes == {
        "local": ("qemu:///system", "qemu", "demo"),
        "sim": ("test+unix:///default", "test", "demo"),
        "local-2": (DEMO_SECOND.qemu_uri, "qemu", "demo"),
    }
    second = Node.objects.get(name="local-2")
    assert second.images_path == Node.objects.get(name="local").images_path
    assert second.instances_path == DEMO_SECOND.node_paths()["instances_path"]
    kinds = {image.ec2_id[:4]: image for image in Image.objects.all()}
    assert set(kinds) == {"eki-", "eri-", "emi-"}
    assert kinds["eki-"].location.endswith("/amd64/linux") and kinds["emi-"].format == "qcow2"
    assert all(image.is_public for image in kinds.values())
    names = set(InstanceType.objects.values_list("name", flat=True))
    assert names == {"m1.small", "m1.medium", "m1.large", "m1.xlarge"}
    users = get_user_model().objects
    assert users.get(username="admin").is_staff and not users.get(username="member").is_staff


def test_it_enables_the_boot_parameters_rule_for_installers(seeded):
    rule = Rule.objects.get(library_slug=library.BOOT_PARAMS)
    assert rule.enabled and rule.current.text == library.get(library.BOOT_PARAMS).text
    assert rule.current.author.username == "admin"


def test_it_prints_the_logins_every_time_and_they_work(demo, settings):
    out = io.StringIO()
    call_command("seeddemo", stdout=out)
    line = next(line for line in out.getvalue().splitlines() if "member" in line)
    password = line.split()[1]
    assert logs_in("member", password)


def test_running_it_again_changes_nothing(demo):
    before = counts()
    ids = set(Image.objects.values_list("ec2_id", flat=True))
    call_command("seeddemo", stdout=io.StringIO())
    assert counts() == before
    assert set(Image.objects.values_list("ec2_id", flat=True)) == ids


def test_make_run_seeds_only_a_first_start(demo):
    Node.objects.get(name="sim").delete()
    call_command("seeddemo", once=True, stdout=io.StringIO())
    assert not Node.objects.filter(name="sim").exists()


def test_make_run_seeds_an_empty_database(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.KUMO_IMAGES_DIR = tmp_path / "images"
    out = io.StringIO()
    call_command("seeddemo", once=True, stdout=out)
    assert Node.objects.filter(name__in=["local", "sim", "local-2"]).count() == 3
    assert "admin" in out.getvalue() and "member" in out.getvalue()
