"""docs/board.png from `newsd demo` (see board_screenshot.sh)."""
import os
import re
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

newsd, out = sys.argv[1], sys.argv[2]
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
work = tempfile.mkdtemp(prefix="newsd-shot-")
log = open(os.path.join(work, "demo.out"), "w+")
demo = subprocess.Popen([newsd, "demo", "--port", "0", "--seconds", "120"], stdout=log,
                        stderr=subprocess.STDOUT, cwd=root)
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
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--force-dark-mode", "--window-size=1600,1000", f"--user-data-dir={work}/chrome"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        driver.get(url)
        # the demo's feeds are read once at start: wait until the page has settled
        last, stable = -1, 0
        for _ in range(300):
            n = driver.execute_script("return window.__board ? window.__board.alerts : 0")
            stable = stable + 1 if n == last and n > 0 else 0
            last = n
            if stable >= 20:
                break
            time.sleep(0.1)
        driver.save_screenshot(out)
        print(f"{out}: {last} alerts on the board")
    finally:
        driver.quit()
finally:
    demo.terminate()
    demo.wait(30)
