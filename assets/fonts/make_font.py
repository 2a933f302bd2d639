# Extracts face 0 (WenQuanYi Micro Hei) from Debian's wqy-microhei.ttc and drops
# what a PDF subset never uses. Run with fontTools (pip install fonttools==4.68.0).
import sys
from fontTools.ttLib import TTCollection
src, dst = sys.argv[1], sys.argv[2]
face = TTCollection(src, recalcTimestamp=False).fonts[0]
face.recalcTimestamp = False
face["post"].formatType = 3.0          # no glyph names (-540 KB)
for tag in ["vhea", "vmtx", "FFTM", "GPOS", "GSUB", "GDEF"]:
    if tag in face:
        del face[tag]                  # vertical metrics, layout: unused here
face.save(dst)
