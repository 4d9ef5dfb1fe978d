"""docs/board.png from `newsd demo` (see board_screenshot.sh): the demo's sample feeds and one more
ninjs feed with stories from tests/fixtures/board/items.json (an escalation, a FLASH, a story later
withdrawn), so the picture shows what the board does, not only new developments."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

newsd, out = sys.argv[1], sys.argv[2]
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
items = json.load(open(os.path.join(root, "tests/fixtures/board/items.json")))["items"]
work = tempfile.mkdtemp(prefix="newsd-shot-")
feeds = os.path.join(work, "feeds")
shutil.copytree(os.path.join(root, "deploy/demo/feeds"), feeds)


def extras(keys, canceled=()):
    """The extra feed, replaced whole."""
    data = [{"uri": "urn:shot:" + k, "version": 2 if k in canceled else 1,
             "pubstatus": "canceled" if k in canceled else "usable",
             "firstcreated": "2026-12-04T00:00:00Z", "versioncreated": "2026-12-04T00:00:00Z",
             "headline": items[k][0], "body_text": items[k][1]} for k in keys]
    tmp = os.path.join(work, "extra.tmp")
    with open(tmp, "w") as f:
        json.dump({"data": data}, f)
    os.rename(tmp, os.path.join(feeds, "zz-extra.json"))


def settle(driver, cond):
    """Wait until cond holds and the page's alert count has not moved for two seconds."""
    last, stable = -1, 0
    for _ in range(600):
        n = driver.execute_script("return window.__board ? window.__board.alerts : 0")
        stable = stable + 1 if n == last and n > 0 and driver.execute_script(cond) else 0
        last = n
        if stable >= 20:
            return n
        time.sleep(0.1)
    sys.exit("the board did not settle")


extras(())
log = open(os.path.join(work, "demo.out"), "w+")
demo = subprocess.Popen([newsd, "demo", "--feeds", feeds, "--port", "0", "--interval", "1",
                         "--seconds", "120"], stdout=log, stderr=subprocess.STDOUT, cwd=root)
try:
    url = None
    for _ in range(600):
        log.flush()
        m = re.search(r"desk board: (http://\S+)", open(log.name).read())
        if m:
            url = m.group(1)
            break
        time.sleep(0.1)
    if not url:
        sys.exit("newsd demo printed no board URL:\n" + open(log.name).read())
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    size = os.environ.get("SHOT_SIZE", "1920,1080")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--force-dark-mode", f"--window-size={size}", f"--user-data-dir={work}/chrome"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        driver.get(url)
        settle(driver, "return true")
        # after the demo's stories: the newest on the board, and E1 escalates their China-Japan one
        extras(("E1", "E2", "L3"))
        settle(driver, "return document.querySelector('.badge.esc') !== null")
        extras(("E1", "E2", "L3"), canceled=("L3",))
        n = settle(driver, "return document.querySelector('.card.withdrawn') !== null")
        driver.save_screenshot(out)
        print(f"{out}: {n} alerts on the board ({size})")
    finally:
        driver.quit()
finally:
    demo.terminate()
    demo.wait(30)
    shutil.rmtree(work, ignore_errors=True)
