"""Great Expectations Data Docs that work offline: the site's views and its configuration.

GE 1.24's pages load jQuery, bootstrap, bootstrap-table, Font Awesome and vega from CDNs,
and its navbar logo from S3: offline the index is blank ("$ is not defined"). The site
is therefore built with the views below. They render GE's own templates, except those
in ``data_docs_templates/``, which come first:

- every page's <head> holds one inline stylesheet and one inline script
  (``offline_docs.css``, ``offline_docs.js``), a few kilobytes, instead of the CDN links;
- the index's runs table is rendered into the page when the site is built, rather than
  drawn by bootstrap-table from a script, so it lists the runs, and links each to its
  page, with no script at all; the script sorts and filters it;
- the navbar logo and the favicon come from the site's static/images, which GE copies
  from its package.

Nothing is vendored: the pages need only what GE itself ships and these templates.

GE's views each make their own jinja2 ``Environment``, and a build of the site makes
four views, so each build compiled every template it used from source again (most of a
build's time). The views below share one in-memory jinja2 bytecode cache: a template is
compiled once per process, and each later load checks its source's checksum (a changed
template is compiled again). Sharing is safe as every environment using the cache is made
alike, by GE's ``DefaultJinjaView.__init__`` (the same autoescaping, extension and
filters, on which compiled code depends); the cache keys templates by name and file.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from great_expectations.data_context.store.tuple_store_backend import (
    TupleFilesystemStoreBackend,
)
from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import BytecodeCache, ChoiceLoader, FileSystemLoader
from jinja2.bccache import Bucket

from pipelines.atomic_files import write_atomically

TEMPLATES_DIR = Path(__file__).resolve().parent / "data_docs_templates"
SITE_NAME = "local_site"
SITE_DIRECTORY = "uncommitted/data_docs/local_site/"
LOG = logging.getLogger(__name__)


class _CompiledTemplates(BytecodeCache):
    """jinja2's compiled templates, kept in memory for the process (module docstring)."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:  # jinja2 drops it if the template's source changed since
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_COMPILED_TEMPLATES = _CompiledTemplates()


class _OfflineTemplates:
    """Puts ``data_docs_templates/`` ahead of GE's templates (GE's loader searches its
    package first and custom views last, so overriding one needs the order changed), and
    shares the process's compiled templates."""

    env: Any

    def _prefer_offline_templates(self) -> None:
        self.env.loader = ChoiceLoader([FileSystemLoader(str(TEMPLATES_DIR)), self.env.loader])
        self.env.bytecode_cache = _COMPILED_TEMPLATES


class OfflinePageView(_OfflineTemplates, DefaultJinjaPageView):
    """Validation result and expectation suite pages with no network request."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._prefer_offline_templates()


class OfflineIndexPageView(_OfflineTemplates, DefaultJinjaIndexPageView):
    """The index page with its runs table in the HTML and no network request."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._prefer_offline_templates()


class WholePagesBackend(TupleFilesystemStoreBackend):
    """The site's files, each written whole or not at all.

    GE writes a page in place: a full disk left pages cut short or empty, and the index cut
    mid-table, losing the earlier months' runs. The site renders only pages missing on
    disk, so they stayed broken after the space was freed, through every later run (a
    review, 2026-12-07). Here each file is written beside its place and renamed over it:
    a failed write leaves the page that was there (or none, which the next build
    renders). GE writes an empty index when rendering it failed (it logs the error and
    goes on); an empty file is never a page, so the one there is kept.
    """

    def _set(self, key: Any, value: Any, **kwargs: Any) -> str:
        if not isinstance(key, tuple):
            key = key.to_tuple()
        path = Path(self.full_base_directory, self._convert_key_to_filepath(key))
        content = value.encode("utf-8") if isinstance(value, str) else value
        if not content:
            LOG.warning("Data Docs: %s could not be rendered; the file there is kept", path)
            return str(path)
        return str(write_atomically(path, content))


def _view(class_name: str) -> dict[str, str]:
    return {"module_name": __name__, "class_name": class_name}


def offline_site_config() -> dict[str, Any]:
    """The local site's configuration: GE's default sections, rendered by the views above,
    without GE's how-to buttons (links to its website)."""
    page = _view(OfflinePageView.__name__)
    return {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {
            "module_name": __name__,
            "class_name": WholePagesBackend.__name__,
            "base_directory": SITE_DIRECTORY,
        },
        "site_index_builder": {
            "class_name": "DefaultSiteIndexBuilder",
            "view": _view(OfflineIndexPageView.__name__),
        },
        "site_section_builders": {
            "expectations": {"view": page},
            "validations": {"view": page},
            "profiling": {"view": page},
        },
    }


def use_offline_site(context: Any) -> bool:
    """Make the GE project's local site the offline one; whether that changed it (a
    project made before this module has GE's default site: its pages load from CDNs
    until they are all rendered again)."""
    config = offline_site_config()
    if context.list_data_docs_sites().get(SITE_NAME) == config:
        return False
    context.update_data_docs_site(SITE_NAME, config)
    return True
