/* Feed dates: RFC 822/1123 (RSS), RFC 3339 / ISO 8601 (Atom, JSON Feed, ninjs), and the broken variants
 * found in real feeds. A date we are not sure of is rejected with a reason: a story without a date is
 * better than a story with a wrong one (it would sort wrongly, expire early or alert late). */
#include "parse/parse_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A date more than this far in the future is a broken clock or a placeholder. */
#define FUTURE_TOLERANCE_S 86400
/* Before this the feed formats did not exist: an epoch-zero placeholder or a parse of garbage. */
#define EARLIEST_YEAR 1980

struct parsed {
    int y, mo, d, h, mi, s; /* mo 1..12 */
    int off_min;
    int have_zone;
};

static int month_index(const char *s, size_t n)
{
    static const char *months[] = {"january", "february", "march",     "april",   "may",
                                   "june",    "july",     "august",    "september", "october",
                                   "november", "december"};
    if (n < 3)
        return -1;
    for (int i = 0; i < 12; i++) {
        size_t full = strlen(months[i]);
        if (n > full)
            continue;
        if (!strncasecmp(s, months[i], n) && (n == 3 || n == full || (i == 8 && n == 4)))
            return i + 1;
    }
    return -1;
}

static int is_day_name(const char *s, size_t n)
{
    static const char *days[] = {"monday", "tuesday", "wednesday", "thursday",
                                 "friday", "saturday", "sunday"};
    if (n < 3)
        return 0;
    for (int i = 0; i < 7; i++)
        if (n <= strlen(days[i]) && !strncasecmp(s, days[i], n) && (n == 3 || n == strlen(days[i]) ||
                                                                     n == 4))
            return 1;
    return 0;
}

/* Named zones (RFC 822 and the common North American and European abbreviations) and military
 * letters. RFC 822 printed the military letters with the signs reversed (RFC 1123 5.2.14); we use
 * the military convention itself (A = UTC+1, N = UTC-1), which is what a producer means. */
static int zone_name(const char *z, size_t n, int *off)
{
    static const struct {
        const char *name;
        int off;
    } zones[] = {{"GMT", 0},     {"UT", 0},      {"UTC", 0},     {"Z", 0},      {"EST", -300},
                 {"EDT", -240},  {"CST", -360},  {"CDT", -300},  {"MST", -420}, {"MDT", -360},
                 {"PST", -480},  {"PDT", -420},  {"AKST", -540}, {"AKDT", -480}, {"HST", -600},
                 {"BST", 60},    {"IST", 330},   {"CET", 60},    {"CEST", 120}, {"MET", 60},
                 {"MEST", 120},  {"EET", 120},   {"EEST", 180},  {"WET", 0},    {"WEST", 60},
                 {"MSK", 180},   {"JST", 540},   {"KST", 540},   {"HKT", 480},  {"SGT", 480},
                 {"AEST", 600},  {"AEDT", 660},  {"ACST", 570},  {"AWST", 480}, {"NZST", 720},
                 {"NZDT", 780}};
    for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
        if (strlen(zones[i].name) == n && !strncasecmp(z, zones[i].name, n)) {
            *off = zones[i].off;
            return 1;
        }
    }
    if (n == 1 && isalpha((unsigned char)z[0])) {
        int c = toupper((unsigned char)z[0]);
        if (c >= 'A' && c <= 'I')
            *off = (c - 'A' + 1) * 60;
        else if (c >= 'K' && c <= 'M')
            *off = (c - 'K' + 10) * 60;
        else if (c >= 'N' && c <= 'Y')
            *off = -(c - 'N' + 1) * 60;
        else
            return 0; /* J is not a zone */
        return 1;
    }
    return 0;
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* Read exactly `min..max` digits. */
static int digits(const char **pp, int min, int max, int *out)
{
    const char *p = *pp;
    int n = 0, v = 0;
    while (n < max && isdigit((unsigned char)p[n])) {
        v = v * 10 + (p[n] - '0');
        n++;
    }
    if (n < min)
        return 0;
    *out = v;
    *pp = p + n;
    return 1;
}

/* Numeric offset "+HH:MM", "+HHMM", "+HH"; returns 1 and advances when one is there. */
static int numeric_zone(const char **pp, int *off, const char **why)
{
    const char *p = *pp;
    int sign, hh, mm = 0;
    if (*p != '+' && *p != '-')
        return 0;
    sign = *p == '-' ? -1 : 1;
    p++;
    if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
        return 0;
    hh = (p[0] - '0') * 10 + (p[1] - '0');
    p += 2;
    if (*p == ':')
        p++;
    if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1])) {
        mm = (p[0] - '0') * 10 + (p[1] - '0');
        p += 2;
    }
    if (hh > 14 || mm > 59) {
        *why = "time zone offset out of range";
        return -1;
    }
    *off = sign * (hh * 60 + mm);
    *pp = p;
    return 1;
}

/* Zone after the time: numeric, named, "GMT+01:00", and a trailing "(CET)" comment. 0 when unknown
 * text follows. */
static int parse_zone(const char *p, struct parsed *t, const char **why)
{
    int r;
    p = skip_ws(p);
    if (!*p)
        return 1;
    r = numeric_zone(&p, &t->off_min, why);
    if (r < 0)
        return 0;
    if (r == 0) {
        size_t n = 0;
        while (isalpha((unsigned char)p[n]))
            n++;
        if (!n || !zone_name(p, n, &t->off_min)) {
            *why = "unknown time zone";
            return 0;
        }
        p += n;
        /* "GMT+0100", "UTC-05:00" */
        if ((*p == '+' || *p == '-') && t->off_min == 0) {
            if (numeric_zone(&p, &t->off_min, why) <= 0) {
                if (!*why)
                    *why = "unknown time zone";
                return 0;
            }
        }
    }
    t->have_zone = 1;
    p = skip_ws(p);
    if (*p == '(') {
        const char *close = strchr(p, ')');
        if (close)
            p = skip_ws(close + 1);
    }
    if (*p) {
        *why = "unexpected text after the date";
        return 0;
    }
    return 1;
}

/* HH:MM[:SS[.frac]] */
static int parse_clock(const char **pp, struct parsed *t, const char **why)
{
    const char *p = *pp;
    if (!digits(&p, 1, 2, &t->h) || *p != ':') {
        *why = "unreadable time of day";
        return 0;
    }
    p++;
    if (!digits(&p, 2, 2, &t->mi)) {
        *why = "unreadable time of day";
        return 0;
    }
    if (*p == ':') {
        p++;
        if (!digits(&p, 2, 2, &t->s)) {
            *why = "unreadable seconds";
            return 0;
        }
        if (*p == '.' || *p == ',')
            for (p++; isdigit((unsigned char)*p); p++)
                ;
    }
    *pp = p;
    return 1;
}

static int parse_iso(const char *p, struct parsed *t, const char **why)
{
    if (!digits(&p, 4, 4, &t->y) || *p != '-') {
        *why = "not an RFC 3339 date";
        return 0;
    }
    p++;
    if (!digits(&p, 1, 2, &t->mo) || *p != '-') {
        *why = "not an RFC 3339 date";
        return 0;
    }
    p++;
    if (!digits(&p, 1, 2, &t->d)) {
        *why = "not an RFC 3339 date";
        return 0;
    }
    if (!*p) {
        /* A bare date: midnight UTC of that day is the best honest reading. */
        t->have_zone = 1;
        return 1;
    }
    if (*p != 'T' && *p != 't' && *p != ' ') {
        *why = "unexpected text after the date";
        return 0;
    }
    p++;
    p = skip_ws(p);
    if (!parse_clock(&p, t, why))
        return 0;
    if (*p == 'Z' || *p == 'z') {
        t->have_zone = 1;
        p++;
        if (*skip_ws(p)) {
            *why = "unexpected text after the date";
            return 0;
        }
        return 1;
    }
    return parse_zone(p, t, why);
}

/* Next alphabetic word or number token; returns its length. */
static size_t word(const char *p)
{
    size_t n = 0;
    while (isalpha((unsigned char)p[n]))
        n++;
    if (n && p[n] == '.')
        n++; /* "Nov." */
    return n;
}

/* RFC 822 and relatives: [Day[,]] D Mon YYYY [HH:MM[:SS]] [zone]; also "Mon D, YYYY ..." and
 * "Day Mon D HH:MM:SS zone YYYY" (ctime with a zone). */
static int parse_rfc822(const char *p, struct parsed *t, const char **why)
{
    size_t n;
    const char *save;

    n = word(p);
    if (n && is_day_name(p, n - (p[n - 1] == '.'))) {
        p += n;
        p = skip_ws(p);
        if (*p == ',')
            p++;
        p = skip_ws(p);
    }
    if (isdigit((unsigned char)*p)) {
        /* D Mon YYYY */
        if (!digits(&p, 1, 2, &t->d)) {
            *why = "not an RFC 822 date";
            return 0;
        }
        p = skip_ws(p);
        if (*p == '-' || *p == '.')
            p++;
        n = word(p);
        if ((t->mo = month_index(p, n - (n && p[n - 1] == '.'))) < 0) {
            *why = "unknown month name";
            return 0;
        }
        p += n;
        p = skip_ws(p);
        if (*p == '-' || *p == ',')
            p++;
        p = skip_ws(p);
    } else if ((n = word(p)) && (t->mo = month_index(p, n - (p[n - 1] == '.'))) > 0) {
        /* Mon D[,] YYYY */
        p = skip_ws(p + n);
        if (!digits(&p, 1, 2, &t->d)) {
            *why = "not an RFC 822 date";
            return 0;
        }
        if (!strncasecmp(p, "st", 2) || !strncasecmp(p, "nd", 2) || !strncasecmp(p, "rd", 2) ||
            !strncasecmp(p, "th", 2))
            p += 2;
        p = skip_ws(p);
        if (*p == ',')
            p++;
        p = skip_ws(p);
        /* ctime: Mon D HH:MM:SS [zone] YYYY */
        save = p;
        if (isdigit((unsigned char)p[0]) && (p[1] == ':' || (p[1] && p[2] == ':'))) {
            const char *zs, *ze;
            if (!parse_clock(&p, t, why))
                return 0;
            p = skip_ws(p);
            zs = p;
            while (*p && !isdigit((unsigned char)*p))
                p++;
            ze = p;
            if (!digits(&p, 4, 4, &t->y) || *skip_ws(p)) {
                *why = "not an RFC 822 date";
                return 0;
            }
            while (ze > zs && (ze[-1] == ' ' || ze[-1] == '\t'))
                ze--;
            if (ze > zs) {
                char zone[32];
                size_t zn = (size_t)(ze - zs) < sizeof(zone) - 1 ? (size_t)(ze - zs) : sizeof(zone) - 1;
                memcpy(zone, zs, zn);
                zone[zn] = '\0';
                return parse_zone(zone, t, why);
            }
            return 1;
        }
        p = save;
    } else {
        *why = "not an RFC 822 or RFC 3339 date";
        return 0;
    }
    save = p;
    if (!digits(&p, 2, 4, &t->y) || p - save == 3) {
        *why = "unreadable year";
        return 0;
    }
    if (p - save == 2)
        t->y += t->y < 50 ? 2000 : 1900; /* RFC 2822 4.3 */
    p = skip_ws(p);
    if (*p == ',')
        p = skip_ws(p + 1);
    if (!*p) {
        t->have_zone = 1; /* a bare day */
        return 1;
    }
    if (!strncasecmp(p, "at ", 3))
        p = skip_ws(p + 3);
    if (!parse_clock(&p, t, why))
        return 0;
    p = skip_ws(p);
    /* 12-hour clocks */
    if (!strncasecmp(p, "am", 2) || !strncasecmp(p, "pm", 2)) {
        if (t->h < 1 || t->h > 12) {
            *why = "hour out of range for a 12-hour clock";
            return 0;
        }
        t->h = t->h % 12 + (tolower((unsigned char)*p) == 'p' ? 12 : 0);
        p += 2;
    }
    return parse_zone(p, t, why);
}

static int days_in_month(int y, int mo)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[mo - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int y, int m, int d)
{
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int64_t nd_parse_date_at(const char *text, int64_t now, const char **why)
{
    struct parsed t;
    const char *dummy;
    const char *p;
    char buf[128];
    size_t n;
    int64_t epoch;
    int ok;

    if (!why)
        why = &dummy;
    *why = NULL;
    if (!text) {
        *why = "no date";
        return 0;
    }
    p = skip_ws(text);
    n = strlen(p);
    if (n == 0) {
        *why = "empty date";
        return 0;
    }
    if (n >= sizeof(buf)) {
        *why = "date text too long";
        return 0;
    }
    memcpy(buf, p, n + 1);
    while (n && isspace((unsigned char)buf[n - 1]))
        buf[--n] = '\0';

    memset(&t, 0, sizeof(t));
    if (isdigit((unsigned char)buf[0]) && isdigit((unsigned char)buf[1]) &&
        isdigit((unsigned char)buf[2]) && isdigit((unsigned char)buf[3]) && buf[4] == '-')
        ok = parse_iso(buf, &t, why);
    else
        ok = parse_rfc822(buf, &t, why);
    if (!ok) {
        if (!*why)
            *why = "unreadable date";
        return 0;
    }
    if (t.mo < 1 || t.mo > 12) {
        *why = "month out of range";
        return 0;
    }
    if (t.y < EARLIEST_YEAR || t.y > 9999) {
        *why = "year out of range (placeholder or garbage)";
        return 0;
    }
    if (t.d < 1 || t.d > days_in_month(t.y, t.mo)) {
        *why = "no such day in that month";
        return 0;
    }
    if (t.h > 23 || t.mi > 59 || t.s > 60) {
        *why = "time of day out of range";
        return 0;
    }
    if (t.s == 60)
        t.s = 59; /* a leap second: one second early beats no date */
    /* No zone at all: RFC 822 requires one; feeds that omit it mean UTC or their local time, and we
     * cannot know which, so the date is not trusted. */
    if (!t.have_zone) {
        *why = "no time zone";
        return 0;
    }
    epoch = days_from_civil(t.y, t.mo, t.d) * 86400 + t.h * 3600 + t.mi * 60 + t.s -
            (int64_t)t.off_min * 60;
    if (epoch > now + FUTURE_TOLERANCE_S) {
        *why = "date is in the future";
        return 0;
    }
    if (epoch <= 0) {
        *why = "year out of range (placeholder or garbage)";
        return 0;
    }
    return epoch;
}

int64_t nd_parse_date(const char *text, const char **why)
{
    return nd_parse_date_at(text, nd_now_ms() / 1000, why);
}

void nd_story_set_date(struct nd_story *story, const char *text, int updated)
{
    const char *why = NULL;
    int64_t t;
    char note[256];

    if (!text)
        return;
    t = nd_parse_date(text, &why);
    if (t > 0) {
        if (updated)
            story->updated_at = t;
        else
            story->published_at = t;
        return;
    }
    if (updated || story->published_at)
        return;
    /* the quoted text is cut at a byte count: cleaning repairs a split UTF-8 sequence */
    snprintf(note, sizeof(note), "%s: \"%.80s\"", why ? why : "unreadable date", text);
    free(story->date_note);
    story->date_note = nd_text_clean(nd_strdup(note));
}
