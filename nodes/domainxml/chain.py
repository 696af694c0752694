"""Applying a chain of XSL stylesheets to instance.xml, safely, with precise errors.

Stylesheets compile with XSLTAccessControl.DENY_ALL (no document() reads, no exsl:document
writes, no network) and parse with entities and network off. Compiled stylesheets are cached
by the hash of their text. Each stage's output is the next stage's input; the last output is
checked: a <domain> root of sane size and depth, libvirt's RelaxNG schema (warnings only), no
disks lost on the way; and re-indented for diffs. Pure: no Django. It runs inside the sandbox
process (sandbox.py), which enforces the time and memory limits.
"""

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from lxml import etree

MAX_STYLESHEET_BYTES = 256 * 1024
# No libvirt domain comes near these; a chain whose output does is stopped with the limit named.
MAX_DOMAIN_BYTES = 1 << 20
MAX_DOMAIN_DEPTH = 64
DOMAIN_SCHEMA = Path("/usr/share/libvirt/schemas/domain.rng")
ACCESS = etree.XSLTAccessControl.DENY_ALL


def safe_parser():
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@dataclass(frozen=True)
class Stage:
    """One stylesheet of the chain: `name` says where it comes from in messages."""

    name: str
    text: str

    @property
    def key(self):
        return hashlib.sha256(self.text.encode()).hexdigest()


@dataclass(frozen=True)
class Problem:
    message: str
    stage: str = ""
    line: int | None = None
    column: int | None = None

    def as_dict(self):
        return {
            "stage": self.stage,
            "line": self.line,
            "column": self.column,
            "message": self.message,
        }

    def __str__(self):
        where = (
            f" line {self.line}" + (f", column {self.column}" if self.column else "")
            if self.line
            else ""
        )
        return f"{self.stage}{where}: {self.message}" if self.stage else self.message


@dataclass
class Outcome:
    domain_xml: bytes | None = None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    indented: str = ""  # domain_xml re-indented, so that diffs show elements, not layout

    @property
    def ok(self):
        return self.domain_xml is not None and not self.errors


class StageFailed(Exception):
    def __init__(self, problems):
        super().__init__(problems[0].message)
        self.problems = problems


DENIED = "Kumo's stylesheets may not read or write files or reach the network"


def readable(message):
    message = message.strip().replace("string://__STRING__XSLT__", "")
    if "rights for" in message and "denied" in message or "refused" in message:
        return f"{DENIED}: {message}"
    return message


HINTS = {
    "Unregistered function": "Unknown function: neither XSLT 1.0 nor EXSLT has it",
    "XPath evaluation returned no result.": "",
}
LOCATORS = ("runtime error", "compilation error")


def log_problems(error_log, stage, default=""):
    """libxslt's messages, de-duplicated and placed: its "runtime error, element 'x'" entry
    carries the line, which the other entries of the same failure lack."""
    entries = [(readable(e.message), e.line or None, e.column or None) for e in error_log]
    located = [(m, line) for m, line, _ in entries if m.startswith(LOCATORS)]
    line, element = (located[0][1], located[0][0].split("element ")[-1]) if located else (None, "")
    problems, seen = [], set()
    for message, own_line, column in entries:
        message = HINTS.get(message, message)
        if (
            not message
            or message in seen
            or message == "unknown error"
            or message.startswith(LOCATORS)
        ):
            continue
        seen.add(message)
        where = f" (in xsl:{element.strip(chr(39))})" if element else ""
        problems.append(Problem(message + where, stage, own_line or line, column))
    return problems[:5] or [Problem(default or "The stylesheet failed.", stage, line)]


def refuse_imports(document, stage_name):
    """xsl:import and xsl:include read files while compiling, where access control does not
    reach: Kumo's stylesheets are self-contained."""
    for element in document.iter(
        "{http://www.w3.org/1999/XSL/Transform}import",
        "{http://www.w3.org/1999/XSL/Transform}include",
    ):
        raise StageFailed(
            [
                Problem(
                    f"xsl:{etree.QName(element).localname} is not allowed: paste the templates it "
                    "would bring into this stylesheet.",
                    stage_name,
                    element.sourceline,
                )
            ]
        )


@lru_cache(maxsize=256)
def compiled(key, text, stage_name):
    """The compiled stylesheet for text (key is its hash, so the cache holds each once)."""
    size = len(text.encode())
    if size > MAX_STYLESHEET_BYTES:
        raise StageFailed(
            [
                Problem(
                    f"The stylesheet is {size // 1024} KiB; "
                    f"the limit is {MAX_STYLESHEET_BYTES // 1024} KiB.",
                    stage_name,
                )
            ]
        )
    etree.clear_error_log()
    try:
        document = etree.fromstring(text.encode(), safe_parser())
    except etree.XMLSyntaxError as error:
        line, column = error.position
        raise StageFailed(
            [Problem(f"Not well-formed XML: {error.msg}", stage_name, line, column)]
        ) from error
    if document.getroottree().docinfo.internalDTD is not None:
        raise StageFailed(
            [Problem("Stylesheets may not have a DOCTYPE or declare entities.", stage_name, 1)]
        )
    refuse_imports(document, stage_name)
    try:
        transform = etree.XSLT(document, access_control=ACCESS)
    except etree.XSLTParseError as error:
        raise StageFailed(log_problems(error.error_log, stage_name, str(error))) from error
    # libxslt compiles some mistakes (an unknown xsl: element) into a stylesheet that
    # silently does nothing there, and only logs them: they are errors all the same.
    errors = [e for e in transform.error_log if e.level >= etree.ErrorLevels.ERROR]
    if errors:
        raise StageFailed(log_problems(errors, stage_name))
    return transform


def strparams(params, stage_name):
    try:
        return {name: etree.XSLT.strparam(value) for name, value in params.items()}
    except ValueError as error:
        raise StageFailed(
            [Problem(f"A stylesheet parameter cannot be passed: {error}", stage_name)]
        ) from error


def apply(stage, document, params):
    transform = compiled(stage.key, stage.text, stage.name)
    etree.clear_error_log()
    try:
        result = transform(document, **strparams(params, stage.name))
    except etree.XSLTApplyError as error:
        raise StageFailed(log_problems(transform.error_log, stage.name, str(error))) from error
    if result.getroot() is None:
        raise StageFailed([Problem("The stylesheet produced no XML element.", stage.name)])
    messages = [
        Problem(entry.message.strip(), stage.name, entry.line or None)
        for entry in transform.error_log
    ]
    return result, messages


def count_disks(document):
    return (
        len(document.getroot().findall("devices/disk"))
        if document.getroot().tag == "domain"
        else None
    )


def run(instance_xml: bytes, stages, params, check_schema=True, done=None) -> Outcome:
    """Apply the stages in order to instance.xml and check what comes out.

    `done` (a dict) remembers each prefix of stages already applied to this instance.xml
    with these params, so that chains sharing a prefix (a preview with and without the
    edited rule) compute it once.
    """
    done = {} if done is None else done
    outcome = Outcome()
    try:
        document = etree.ElementTree(etree.fromstring(instance_xml, safe_parser()))
    except etree.XMLSyntaxError as error:
        outcome.errors.append(
            Problem(f"instance.xml is not well-formed: {error.msg}", "instance.xml")
        )
        return outcome
    prefix = ()
    for stage in stages:
        prefix += (stage.key,)
        if prefix not in done:
            done[prefix] = applied(stage, document, params)
        document, problems, failed = done[prefix]
        if failed:
            outcome.errors.extend(problems)
            return outcome
        outcome.warnings.extend(problems)
    last_stage = stages[-1].name if stages else ""
    outcome.errors.extend(check_domain(document, last_stage))
    if outcome.errors:
        return outcome
    domain_xml = bytes(document)
    outcome.errors.extend(check_limits(document, domain_xml, last_stage))
    if not outcome.errors:
        outcome.domain_xml, outcome.indented = domain_xml, indented(domain_xml)
        if check_schema:
            outcome.warnings.extend(schema_warnings(document))
    return outcome


def applied(stage, document, params):
    """(output, problems, failed) of one stage; the problems are warnings unless failed."""
    disks_before = count_disks(document)
    try:
        output, warnings = apply(stage, document, params)
    except StageFailed as failure:
        return document, failure.problems, True
    disks_after = count_disks(output)
    if disks_before and disks_after is not None and disks_after < disks_before:
        removed = f"This stage removed {disks_before - disks_after} of {disks_before} disks."
        warnings.append(Problem(removed, stage.name))
    return output, warnings, False


def check_domain(document, last_stage):
    root = document.getroot()
    if root.tag != "domain":
        return [Problem(f"The chain produced <{root.tag}>, not a libvirt <domain>.", last_stage)]
    problems = []
    for required in ("name", "memory", "devices"):
        if root.find(required) is None:
            problems.append(Problem(f"The domain has no <{required}>.", last_stage))
    return problems


def check_limits(document, domain_xml, last_stage):
    """The output's size and nesting, within what any libvirt domain needs."""
    if len(domain_xml) > MAX_DOMAIN_BYTES:
        size = f"{len(domain_xml) / (1 << 20):.1f} MiB"
        limit = f"{MAX_DOMAIN_BYTES >> 20} MiB"
        return [Problem(f"The domain XML is {size}, over the limit of {limit}.", last_stage)]
    depth = 0
    for event, _element in etree.iterwalk(document, events=("start", "end")):
        depth += 1 if event == "start" else -1
        if depth > MAX_DOMAIN_DEPTH:
            return [
                Problem(
                    f"The domain XML nests elements deeper than the limit of {MAX_DOMAIN_DEPTH} "
                    "levels.",
                    last_stage,
                )
            ]
    return []


def indented(domain_xml: bytes):
    """The domain re-indented (its size and depth checked already)."""
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
    root = etree.fromstring(domain_xml, parser)
    etree.indent(root, space="  ")
    return etree.tostring(root, encoding="unicode") + "\n"


def interface_types(domain_xml: str):
    """The type of each NIC of a domain (network, bridge, user …), in order."""
    root = etree.fromstring(domain_xml.encode(), safe_parser())
    return [interface.get("type") for interface in root.iterfind("devices/interface")]


@lru_cache(maxsize=1)
def domain_schema():
    if not DOMAIN_SCHEMA.is_file():
        return None
    return etree.RelaxNG(etree.parse(str(DOMAIN_SCHEMA)))


def schema_warnings(domain):
    schema = domain_schema()
    if schema is None:
        return [
            Problem(f"libvirt's schema {DOMAIN_SCHEMA} is not installed: not checked.", "schema")
        ]
    if schema.validate(domain):
        return []
    return [
        Problem(f"libvirt's schema: {entry.message}", "schema", entry.line or None)
        for entry in schema.error_log
    ]


def compile_problems(stage):
    """Why the stylesheet does not compile ([] when it does). Compiling is bounded work, so
    it may run in the caller's process; running a stylesheet goes through the sandbox."""
    try:
        compiled(stage.key, stage.text, stage.name)
    except StageFailed as failure:
        return failure.problems
    return []
