"""``digest init-ci``: a GitHub Actions workflow that builds the site and deploys it to Pages.

The workflow asks GitHub for the Pages address (actions/configure-pages) and builds with it as
``--base-url``, so feeds, the sitemap and canonical links are right without any config. An
existing workflow file is somebody's work: it is replaced only when asked to.
"""

from __future__ import annotations

from pathlib import Path

WORKFLOW_PATH = Path(".github/workflows/digest.yml")

WORKFLOW = """\
# Builds the digest and deploys it to GitHub Pages on every push to main.
# Written by `digest init-ci`. One-time setup in the repository on GitHub:
# Settings → Pages → Build and deployment → Source: GitHub Actions.
name: digest

on:
  push:
    branches: [main]
  workflow_dispatch:

permissions:
  contents: read
  pages: write
  id-token: write

# One deployment at a time; a newer push waits instead of cancelling a live deployment.
concurrency:
  group: pages
  cancel-in-progress: false

jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      # Installs digest from this repository; elsewhere, install it the way you installed it.
      - run: pip install .
      - id: pages
        uses: actions/configure-pages@v5
      - uses: actions/cache@v4
        with:
          path: .digest-cache
          key: digest-cache-${{ github.sha }}
          restore-keys: digest-cache-
      - run: digest build --out site --base-url "${{ steps.pages.outputs.base_url }}/"
        env:
          DIGEST_CACHE_DIR: .digest-cache
      - uses: actions/upload-pages-artifact@v3
        with:
          path: site

  deploy:
    needs: build
    runs-on: ubuntu-latest
    environment:
      name: github-pages
      url: ${{ steps.deployment.outputs.page_url }}
    steps:
      - id: deployment
        uses: actions/deploy-pages@v4
"""


class WorkflowExists(Exception):
    """The workflow file is already there and --force was not given; nothing was written."""


def write_workflow(root: Path, force: bool = False) -> Path:
    """Writes the workflow under ``root`` (the repository's top folder) and returns its path."""
    path = root / WORKFLOW_PATH
    if path.exists() and not force:
        raise WorkflowExists(
            f"{WORKFLOW_PATH}: already exists; not overwriting it (use --force to replace it)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(WORKFLOW, encoding="utf-8")
    return path
