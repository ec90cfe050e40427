"""Decode 3GPP TS 32.435 performance measurement files (what 4G/5G base stations export).

A file holds `measInfo` blocks, each with a granularity period ending at `endTime`, a list of
counter names (`measTypes` text, or `measType p="n"` elements in newer releases) and one
`measValue` per measured object (`measObjLdn`), whose results are positional (`measResults`
text) or indexed (`r p="n"`). Each measured object at each period becomes one candidate record;
its source is the object's distinguished name.

Parsing goes through defusedxml, which refuses DTDs and entity expansion (billion laughs,
external entities) instead of following them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from edge_agent.ingest.text_values import EMPTY_VALUES, parse_number
from edgeward.records import Candidate, QuarantineReason, Rejection

R = QuarantineReason
MAX_ELEMENT_BYTES = 4096


class PmFileUnreadable(Exception):
    """The file as a whole cannot be used; carries the quarantine reason."""

    def __init__(self, reason: QuarantineReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if _local(child.tag) == name]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def parse_pm_document(data: bytes, *, origin: str) -> list[Candidate | Rejection]:
    """Turn one measurement file into candidates; raise `PmFileUnreadable` if it is unusable.

    Problems confined to one `measInfo` or `measValue` reject only that part.
    """
    try:
        root = SafeET.fromstring(data)
    except DefusedXmlException as err:
        raise PmFileUnreadable(R.UNREADABLE_FILE, f"forbidden XML construct: {err}") from err
    except ET.ParseError as err:
        raise PmFileUnreadable(R.UNREADABLE_FILE, f"not well-formed XML: {err}") from err
    except (LookupError, ValueError) as err:  # e.g. an XML declaration naming no real encoding
        raise PmFileUnreadable(R.UNREADABLE_FILE, f"unreadable XML: {err}") from err
    if _local(root.tag) != "measCollecFile":
        raise PmFileUnreadable(
            R.BAD_PM_FILE, f"root element is <{_local(root.tag)}>, expected <measCollecFile>"
        )
    blocks = _children(root, "measData")
    if not blocks:
        raise PmFileUnreadable(R.BAD_PM_FILE, "the file has no <measData>")
    decoded: list[Candidate | Rejection] = []
    for block in blocks:
        element = _child(block, "managedElement")
        element_dn = (element.get("localDn") or "") if element is not None else ""
        for index, info in enumerate(_children(block, "measInfo")):
            decoded.extend(
                _meas_info(info, element_dn, f"{origin}#{info.get('measInfoId') or index}")
            )
    return decoded


def _meas_info(info: ET.Element, element_dn: str, origin: str) -> list[Candidate | Rejection]:
    period = _child(info, "granPeriod")
    end_time = period.get("endTime") if period is not None else None
    if not end_time:
        return [_reject(origin, info, "a <measInfo> has no <granPeriod endTime=...>")]
    try:
        names = _counter_names(info)
    except ValueError as err:
        return [_reject(origin, info, str(err))]
    labels = {"meas_info_id": info.get("measInfoId")} if info.get("measInfoId") else None
    decoded: list[Candidate | Rejection] = []
    for value in _children(info, "measValue"):
        ldn = value.get("measObjLdn")
        where = f"{origin}/{ldn}"
        if not ldn:
            decoded.append(_reject(where, value, "a <measValue> has no measObjLdn"))
            continue
        suspect = _child(value, "suspect")
        if suspect is not None and (suspect.text or "").strip().lower() == "true":
            decoded.append(
                _reject(
                    where,
                    value,
                    "the node flagged this measurement as suspect",
                    reason=R.SUSPECT_MEASUREMENT,
                )
            )
            continue
        try:
            metrics = _results(value, names)
        except ValueError as err:
            decoded.append(_reject(where, value, str(err)))
            continue
        source = ldn if not element_dn or ldn.startswith(element_dn) else f"{element_dn},{ldn}"
        decoded.append(
            Candidate(origin=where, source=source, ts=end_time, metrics=metrics, labels=labels)
        )
    return decoded


def _counter_names(info: ET.Element) -> dict[str, str]:
    """Map positions ("1", "2", ...) to counter names, from either encoding."""
    listed = _child(info, "measTypes")
    if listed is not None:
        return {str(i): name for i, name in enumerate((listed.text or "").split(), start=1)}
    names: dict[str, str] = {}
    for element in _children(info, "measType"):
        position = element.get("p")
        name = (element.text or "").strip()
        if not position or not name:
            raise ValueError("a <measType> lacks its p attribute or its name")
        names[position] = name
    if not names:
        raise ValueError("a <measInfo> lists no counters (<measTypes> or <measType>)")
    return names


def _results(value: ET.Element, names: dict[str, str]) -> dict[str, Any]:
    listed = _child(value, "measResults")
    if listed is not None:
        texts = (listed.text or "").split()
        if len(texts) != len(names):
            raise ValueError(f"{len(texts)} results for {len(names)} counters")
        pairs = list(zip(names.values(), texts, strict=True))
    else:
        pairs = []
        for result in _children(value, "r"):
            position = result.get("p") or ""
            if position not in names:
                raise ValueError(f"result p={position!r} names no counter")
            pairs.append((names[position], (result.text or "").strip()))
    return {name: parse_number(text) for name, text in pairs if text not in EMPTY_VALUES}


def _reject(
    origin: str, element: ET.Element, detail: str, *, reason: QuarantineReason = R.BAD_PM_FILE
) -> Rejection:
    raw = ET.tostring(element, encoding="utf-8")[:MAX_ELEMENT_BYTES]
    return Rejection(origin=origin, raw=raw, reason=reason, detail=detail)
