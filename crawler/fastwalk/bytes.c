/* Small byte helpers: ASCII classes, prefixes, UTF-8 decoding and validation, the URL tail check.
   Part of crawler/_fastwalk.c, which includes the parts in order as one translation unit. */

/* --- small byte helpers ------------------------------------------------------------------------------------ */
static inline int is_alnum(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
static inline int is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static inline int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static inline unsigned char lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }
/* str.isspace() for ASCII */
static inline int is_space(unsigned char c) { return c == ' ' || (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x1f); }

static int is_ascii(const unsigned char *s, size_t n) {
    size_t i = 0;
    for (; i + 32 <= n; i += 32) { /* 32 bytes a step, one test */
        uint64_t a, b, c, d;
        memcpy(&a, s + i, 8);
        memcpy(&b, s + i + 8, 8);
        memcpy(&c, s + i + 16, 8);
        memcpy(&d, s + i + 24, 8);
        if ((a | b | c | d) & 0x8080808080808080ULL) return 0;
    }
    for (; i < n; i++)
        if (s[i] >= 0x80) return 0;
    return 1;
}

static int starts(const unsigned char *s, size_t n, const char *p) {
    size_t m = strlen(p);
    return n >= m && memcmp(s, p, m) == 0;
}

static int istarts(const unsigned char *s, size_t n, const char *p) {
    size_t m = strlen(p);
    if (n < m) return 0;
    for (size_t i = 0; i < m; i++)
        if (lower(s[i]) != (unsigned char)p[i]) return 0;
    return 1;
}

static int ieq(const unsigned char *s, size_t n, const char *p) { return n == strlen(p) && istarts(s, n, p); }

/* Decodes one UTF-8 sequence at s[i]; returns its length and the code point, or 0 when invalid. */
static int utf8_at(const unsigned char *s, size_t n, size_t i, uint32_t *cp) {
    unsigned char c = s[i];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    int len;
    uint32_t v, min;
    if (c >= 0xc2 && c <= 0xdf) { len = 2; v = c & 0x1f; min = 0x80; }
    else if (c >= 0xe0 && c <= 0xef) { len = 3; v = c & 0x0f; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { len = 4; v = c & 0x07; min = 0x10000; }
    else return 0;
    if (i + len > n) return 0;
    for (int k = 1; k < len; k++) {
        unsigned char d = s[i + k];
        if ((d & 0xc0) != 0x80) return 0;
        v = (v << 6) | (d & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
    *cp = v;
    return len;
}

/* 1 when s is valid UTF-8 (*cont: its number of continuation bytes), else 0 */
static int utf8_valid_count(const unsigned char *s, size_t n, size_t *cont) {
    size_t i = 0, c = 0;
    *cont = 0;
    while (i < n) {
        if (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (!(w & 0x8080808080808080ULL)) { i += 8; continue; }
        }
        if (s[i] < 0x80) { i++; continue; }
        uint32_t cp;
        int k = utf8_at(s, n, i, &cp);
        if (!k) return 0;
        i += k;
        c += k - 1;
    }
    *cont = c;
    return 1;
}

static int utf8_valid(const unsigned char *s, size_t n) {
    size_t cont;
    return utf8_valid_count(s, n, &cont);
}

/* Python's str.isspace() for a code point */
static int cp_space(uint32_t c) {
    if (c < 0x80) return is_space((unsigned char)c);
    return c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
           c == 0x202f || c == 0x205f || c == 0x3000;
}

/* the ASCII bytes that end a tail: whitespace, backslash and the `stop` characters (a table per stop string,
   built once: the callers pass NULL or one literal) */
static const uint8_t *tail_ends(const char *stop) {
    static uint8_t plain[128], with_stop[128];
    static const char *built = NULL;
    static int ready = 0;
    if (!ready) {
        for (int c = 0; c < 128; c++) plain[c] = is_space((unsigned char)c) || c == '\\';
        ready = 1;
    }
    if (!stop) return plain;
    if (built != stop) {
        memcpy(with_stop, plain, sizeof plain);
        for (const char *x = stop; *x; x++) with_stop[(unsigned char)*x & 0x7f] = 1;
        built = stop;
    }
    return with_stop;
}

/* 1 when s[i:n] holds no whitespace, backslash or any of `stop`; 0 when it does; -1 on invalid UTF-8.
   *end is set to where a stop character was found (the scan stops there when stop_ends). */
static int clean_tail(const unsigned char *s, size_t n, size_t i, const char *stop, int stop_ends, size_t *end) {
    const uint8_t *ends = tail_ends(stop);
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if (ends[c]) {
                *end = i;
                return stop_ends ? 1 : 0;
            }
            i++;
            continue;
        }
        uint32_t cp;
        int k = utf8_at(s, n, i, &cp);
        if (!k) return -1;
        if (cp_space(cp)) {
            *end = i;
            return stop_ends ? 1 : 0;
        }
        i += k;
    }
    *end = n;
    return 1;
}
