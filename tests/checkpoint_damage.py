"""Damaging a saved checkpoint step on disk, for the tests of corrupt-checkpoint handling."""

from __future__ import annotations

import pathlib


def damage_step_data(step_dir, damage: str = "truncate") -> None:
    """Damages every array data file of the checkpoint step in ``step_dir``.

    ``damage``: "truncate" (keep the first half) or "flip" (one byte in the middle).
    Every file, not one: Orbax writes each array into a per-process OCDBT store and
    into the merged one that a restore reads, often in files of equal size, so "the
    largest data file" was sometimes a copy no restore reads and the damage went
    unseen (a test failed about once per cold suite).
    """
    files = [p for p in (pathlib.Path(step_dir) / "state").rglob("d/*") if p.is_file()]
    if not files:
        raise FileNotFoundError(f"no array data files under {step_dir}/state")
    for path in files:
        data = bytearray(path.read_bytes())
        if damage == "truncate":
            del data[len(data) // 2:]
        elif damage == "flip":
            data[len(data) // 2] ^= 0xFF
        else:
            raise ValueError(f"damage must be 'truncate' or 'flip'; got {damage!r}")
        path.write_bytes(bytes(data))
