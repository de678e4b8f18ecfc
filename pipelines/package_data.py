"""Where the SQL and the expectation suites that ship with the code are found.

The repository keeps them at its top level (``sql/``, ``expectations/``) so that a reader
finds them beside ``pipelines/``; the wheel carries them inside the package as
``pipelines/_sql`` and ``pipelines/_expectations`` (pyproject.toml's force-include), because
a wheel installs into site-packages, where a top-level folder named ``sql`` could belong to
any other distribution. The lookup is relative to this module, so it works the same in a
checkout, an editable install and an installed wheel, with whatever the current directory.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def shipped_dir(name: str, package_dir: Path = PACKAGE_DIR) -> Path:
    """The folder ``name`` (``sql`` or ``expectations``) as this install has it.

    The packaged copy (``pipelines/_<name>``) wins: in an installed wheel the package's
    parent is site-packages, whose ``<name>`` folder, if any, is not ours. A checkout or an
    editable install has no packaged copy and uses the repository's top-level folder. A
    missing folder is a broken install, so it fails loudly, naming both places looked at.
    """
    packaged = package_dir / f"_{name}"
    if packaged.is_dir():
        return packaged
    checkout = package_dir.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        f"the {name}/ folder that ships with merchant-grading is missing: "
        f"neither {packaged} (installed wheel) nor {checkout} (checkout) exists"
    )
