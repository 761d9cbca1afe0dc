#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Checks data/fraud/countries.txt against Google's libphonenumber metadata
# (the python3-phonenumbers package): every country calling code is there,
# every `country` line names the region libphonenumber gives its prefix, and
# the codes split by area (NANP, Kazakhstan in +7, Vatican in +39) have a line
# for each area of each region. Exits 77 (skip) when the module is absent.
#
#   check_countries.py [data/fraud/countries.txt]
import os
import re
import sys

try:
    import phonenumbers
except ImportError:
    # Debian's python3-phonenumbers installs here, which a python3 other than
    # /usr/bin/python3 (pyenv, a venv) does not search.
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import phonenumbers
    except ImportError:
        print("skipped: python3-phonenumbers is not installed (tools/setup installs it)")
        sys.exit(77)

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, COUNTRY_CODES_FOR_NON_GEO_REGIONS, PhoneMetadata

# Calling codes split by area in countries.txt: every region of the code
# other than the main one has a line per area (its leading digits).
SPLIT_CODES = {1, 7, 39}

# Regions of a split code deliberately left under the main region's line.
UNDER_MAIN = {
    "CA": "Canada is domestic for a US site and has no leading digits of its own",
    "PR": "US territory, domestic for a US site (agent/fraud/README.md, known gaps)",
    "VI": "US territory, domestic for a US site",
    "GU": "US territory, domestic for a US site",
    "AS": "US territory, domestic for a US site",
    "MP": "US territory, domestic for a US site",
}

# Leading-digit alternatives of a split region that are not an area of it.
NOT_AN_AREA = {
    ("DO", "8001"): "+1 800 1 is inside toll-free 800 (nanp.txt classes 8xx tollfree)",
}

# Lines libphonenumber cannot confirm, each with the source that does.
EXCEPTIONS = {
    "76": "the 2006 Russia-Kazakhstan agreement gives Kazakhstan zones 6xx and 7xx; "
          "libphonenumber has no +7 6 numbers, so no region",
    "379": "ITU reserves +379 for Vatican City, which dials as +39 06 698 (the 3906698 line); "
           "libphonenumber has no metadata for it",
    "991": "ITU's trial service code (ITPCS); libphonenumber has no metadata for it",
}


def parse(path):
    """(line number, prefix, class, label) per line, as NumberTables reads them."""
    out = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            words = line.split(None, 2)
            if len(words) < 2:
                sys.exit(f"{path}:{number}: expected \"prefix class [label]\"")
            prefix = words[0].lstrip("+")
            out.append((number, prefix, words[1], words[2].strip() if len(words) > 2 else ""))
    return out


def calling_code(prefix):
    for n in (1, 2, 3):
        if len(prefix) >= n and int(prefix[:n]) in COUNTRY_CODE_TO_REGION_CODE:
            return prefix[:n]
    return None


def leading_digits(region):
    m = PhoneMetadata.metadata_for_region(region)
    return m.leading_digits if m is not None else None


def expand(alternative):
    """Every digit string a leading-digits alternative of digits and [classes] stands for."""
    strings = [""]
    for m in re.finditer(r"\d|\[([0-9-]+)\]|(.)", alternative):
        if m.group(2) is not None:
            raise ValueError(f"cannot expand leading digits \"{alternative}\"")
        if m.group(1) is None:
            chars = m.group(0)
        else:
            chars = ""
            for r in re.finditer(r"(\d)(?:-(\d))?", m.group(1)):
                lo, hi = r.group(1), r.group(2) or r.group(1)
                chars += "".join(str(d) for d in range(int(lo), int(hi) + 1))
        strings = [s + c for s in strings for c in chars]
    return strings


def region_of(prefix):
    """The region libphonenumber gives numbers starting with `prefix`, '001' for a
    non-geographic code, or None."""
    cc = calling_code(prefix)
    if cc is None:
        return None
    regions = COUNTRY_CODE_TO_REGION_CODE[int(cc)]
    if regions == ("001",):
        return "001"
    rest = prefix[len(cc):]
    if not rest:
        return regions[0]
    matching = [r for r in regions[1:] if leading_digits(r) and re.match(f"(?:{leading_digits(r)})", rest)]
    if len(matching) == 1:
        return matching[0]
    if not matching:
        main = leading_digits(regions[0])
        if main is None or re.match(f"(?:{main})", rest):
            return regions[0]
    return None


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "data", "fraud", "countries.txt")
    lines = parse(path)
    errors = []
    countries = {}
    for number, prefix, cls, label in lines:
        where = f"{path}:{number}: {prefix}"
        if cls != "country":
            # The international networks: non-geographic codes in libphonenumber.
            cc = calling_code(prefix)
            if cc is None or int(cc) not in COUNTRY_CODES_FOR_NON_GEO_REGIONS:
                errors.append(f"{where} {cls}: not a non-geographic calling code in libphonenumber")
            continue
        countries[prefix] = label
        if prefix in EXCEPTIONS:
            continue
        region = region_of(prefix)
        if region is None:
            errors.append(f"{where} {label}: libphonenumber has no region for this prefix")
        elif region == "001":
            if int(prefix) not in COUNTRY_CODES_FOR_NON_GEO_REGIONS:
                errors.append(f"{where} {label}: part of a non-geographic code, not the code itself")
        elif region != label:
            errors.append(f"{where} {label}: libphonenumber says {region}")

    # Every calling code has its line.
    for cc, regions in sorted(COUNTRY_CODE_TO_REGION_CODE.items()):
        if str(cc) not in countries:
            errors.append(f"{path}: calling code {cc} ({', '.join(regions)}) has no country line")

    # Split codes: every area of every other region has its line.
    for cc in sorted(SPLIT_CODES):
        for region in COUNTRY_CODE_TO_REGION_CODE[cc][1:]:
            if region in UNDER_MAIN:
                continue
            digits = leading_digits(region)
            if not digits:
                errors.append(f"{path}: +{cc} {region} has no leading digits to split by")
                continue
            for alternative in digits.split("|"):
                if (region, alternative) in NOT_AN_AREA:
                    continue
                for area in expand(alternative):
                    prefix = f"{cc}{area}"
                    if countries.get(prefix) != region:
                        errors.append(f"{path}: +{cc} {area} is {region} in libphonenumber; countries.txt has "
                                      f"{'no line' if prefix not in countries else countries[prefix]}")

    for e in errors:
        print(e)
    print(f"{path}: {len(countries)} country lines, {len(COUNTRY_CODE_TO_REGION_CODE)} calling codes in "
          f"libphonenumber {phonenumbers.__version__}: {len(errors)} differences")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
