"""Kumo's models, split by domain noun."""

from nodes.models.actions import Action
from nodes.models.addresses import InstanceAddress
from nodes.models.consoles import ConsoleOutput, ConsoleSession, ConsoleToken
from nodes.models.images import Image, InstanceType
from nodes.models.instances import Instance
from nodes.models.inventory import Cluster, Node
from nodes.models.keypairs import Keypair
from nodes.models.quotas import Quota
from nodes.models.rules import Rule, RuleRevision
from nodes.models.snapshots import Snapshot
from nodes.models.unmanaged import UnmanagedDomain

__all__ = [
    "Action",
    "Cluster",
    "ConsoleOutput",
    "ConsoleSession",
    "ConsoleToken",
    "Image",
    "Instance",
    "InstanceAddress",
    "InstanceType",
    "Keypair",
    "Node",
    "Quota",
    "Rule",
    "RuleRevision",
    "Snapshot",
    "UnmanagedDomain",
]
