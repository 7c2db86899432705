"""Kit and vial arithmetic: which vial an application uses, and what is left in the kit."""

from __future__ import annotations

from dataclasses import dataclass

from anagen.protocol.definition import Protocol


@dataclass(frozen=True, slots=True)
class KitUse:
    kit_number: int
    vial_number: int  # within the kit, 1-based
    vial_overall: int  # across the course, 1-based
    opens_vial: bool  # the first dose from this vial
    dose_in_vial: int  # 1-based
    opened_by: int  # the application that opened this vial (this one when it opens it)
    opened_in_clinic: bool  # that application was the clinic's


@dataclass(frozen=True, slots=True)
class KitStatus:
    kit_number: int  # the kit in use: the one holding the last application done (kit 1 before any)
    vials_left_in_kit: int  # unopened
    half_vial_open: bool  # an opened vial still holds a dose
    applications_left_in_kit: int
    kits_total: int
    needs_next_kit: bool  # this kit is used up and the course is not finished
    last_vial_opened: bool
    half_vial_opened_in_clinic: bool  # the open half vial was opened at the clinic (False when none is open)


def in_clinic(number: int) -> bool:
    """Application 1 is done at the clinic by a specialist; every later one at home."""
    return number == 1


def kit_usage(protocol: Protocol, number: int) -> KitUse:
    """The kit, vial and dose used by application `number` (1-based)."""
    if not 1 <= number <= protocol.applications_total:
        raise ValueError(f"application number must be between 1 and {protocol.applications_total}")
    index = number - 1
    in_kit = index % protocol.applications_per_kit
    dose_in_vial = index % protocol.doses_per_vial + 1
    opened_by = number - dose_in_vial + 1
    return KitUse(
        kit_number=index // protocol.applications_per_kit + 1,
        vial_number=in_kit // protocol.doses_per_vial + 1,
        vial_overall=index // protocol.doses_per_vial + 1,
        opens_vial=dose_in_vial == 1,
        dose_in_vial=dose_in_vial,
        opened_by=opened_by,
        opened_in_clinic=in_clinic(opened_by),
    )


def kit_status(protocol: Protocol, completed_count: int) -> KitStatus:
    """What is left in the kit in use after `completed_count` applications."""
    if not 0 <= completed_count <= protocol.applications_total:
        raise ValueError(f"completed_count must be between 0 and {protocol.applications_total}")
    kit_number = max(completed_count - 1, 0) // protocol.applications_per_kit + 1
    used = completed_count - (kit_number - 1) * protocol.applications_per_kit
    vials_opened = -(-used // protocol.doses_per_vial)
    half_vial_open = used % protocol.doses_per_vial != 0
    return KitStatus(
        kit_number=kit_number,
        vials_left_in_kit=protocol.vials_per_kit - vials_opened,
        half_vial_open=half_vial_open,
        applications_left_in_kit=protocol.applications_per_kit - used,
        kits_total=protocol.kits_total,
        needs_next_kit=used == protocol.applications_per_kit
        and completed_count < protocol.applications_total,
        last_vial_opened=vials_opened == protocol.vials_per_kit,
        # The open vial is the one the last application done used.
        half_vial_opened_in_clinic=half_vial_open and kit_usage(protocol, completed_count).opened_in_clinic,
    )
