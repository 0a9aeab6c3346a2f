"""Screenshots of the main pages for each demo role, at desktop and phone widths.

usage: .venv/bin/python scripts/screenshots.py [BASE_URL] [OUT_DIR]
Needs a running demo server (scripts/demo) and Debian's chromium.
"""

import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
OUT = Path(sys.argv[2] if len(sys.argv) > 2 else "screenshots")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PAGES = {
    None: ["/accounts/login/", "/accounts/password/reset/"],
    "prescriber": [
        "/clinician/",
        "/patients/",
        "/patients/?q=ex",
        "FIRST_PATIENT",
        "/patients/new/",
    ],
    "clinicadmin": ["/clinic-admin/", "FIRST_PATIENT"],
    "patient": ["/me/"],
}
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


def login(page, username):
    page.goto(f"{BASE}/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", "demo-pass-2026")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def main():
    OUT.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        for size_name, (width, height) in SIZES.items():
            for role, paths in PAGES.items():
                context = browser.new_context(viewport={"width": width, "height": height})
                page = context.new_page()
                if role:
                    login(page, role)
                for path in paths:
                    if path == "FIRST_PATIENT":
                        page.goto(f"{BASE}/patients/")
                        page.click("table tbody tr:first-child a")
                        page.wait_for_load_state("networkidle")
                    else:
                        page.goto(f"{BASE}{path}")
                    slug = path.strip("/").replace("/", "_").replace("?", "_").replace("=", "-")
                    name = f"{size_name}-{role or 'anon'}-{slug or 'root'}.png"
                    page.screenshot(path=str(OUT / name), full_page=True)
                    print(OUT / name)
                context.close()
        browser.close()


if __name__ == "__main__":
    main()
