/* Whole-body byte scans: the facts observe() needs before parsing, the encoded-embed markers, UTF-8 validity.
   Part of crawler/_fastwalk.c, which includes the parts in order as one translation unit. */

static inline int base_at(const unsigned char *f, const unsigned char *e) {
    /* b"<base", b"<BASE" or b"<Base" at f (exactly those spellings) */
    if (e - f < 5 || (f[1] != 'b' && f[1] != 'B')) return 0;
    return (f[2] == 'a' && f[3] == 's' && f[4] == 'e') || (f[1] == 'B' && f[2] == 'A' && f[3] == 'S' && f[4] == 'E');
}

/* body_facts(data) -> (number of b"<", whether b"<base", b"<BASE" or b"<Base" occurs, whether a NUL does) */
static PyObject *py_body_facts(PyObject *self, PyObject *args) {
    Py_buffer b;
    if (!PyArg_ParseTuple(args, "y*", &b)) return NULL;
    const unsigned char *s = b.buf, *e = s + b.len, *f = s;
    Py_ssize_t count = 0;
    int base = 0, nul = 0;
#ifdef __SSE2__
    const __m128i lt = _mm_set1_epi8('<'), zero = _mm_setzero_si128(), bit = _mm_set1_epi8(0x20),
                  bb = _mm_set1_epi8('b');
    __m128i acc = zero, nuls = zero; /* per-lane counts of '<' (summed up every 255 blocks); NUL lanes */
    int blocks = 0;
    for (; e - f >= 17; f += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)f);
        __m128i eq = _mm_cmpeq_epi8(v, lt);
        acc = _mm_sub_epi8(acc, eq);
        nuls = _mm_or_si128(nuls, _mm_cmpeq_epi8(v, zero));
        if (++blocks == 255) {
            __m128i sums = _mm_sad_epu8(acc, zero);
            count += _mm_cvtsi128_si32(sums) + _mm_extract_epi16(sums, 4);
            acc = zero;
            blocks = 0;
        }
        if (base) continue;
        /* "<b" or "<B": where a base tag could start */
        __m128i next = _mm_loadu_si128((const __m128i *)(f + 1));
        unsigned mask = (unsigned)_mm_movemask_epi8(_mm_and_si128(eq, _mm_cmpeq_epi8(_mm_or_si128(next, bit), bb)));
        for (; mask && !base; mask &= mask - 1) base = base_at(f + __builtin_ctz(mask), e);
    }
    __m128i sums = _mm_sad_epu8(acc, zero);
    count += _mm_cvtsi128_si32(sums) + _mm_extract_epi16(sums, 4);
    nul = _mm_movemask_epi8(nuls) != 0;
#endif
    for (const unsigned char *g = f; g < e; g++) nul |= *g == 0;
    for (; f < e; f++)
        if (*f == '<') {
            count++;
            if (!base) base = base_at(f, e);
        }
    PyBuffer_Release(&b);
    return Py_BuildValue("(nOO)", count, base ? Py_True : Py_False, nul ? Py_True : Py_False);
}

/* find_markers(data, markers) -> [(index, positions)] for the markers that occur in data, in index order:
   where each occurs, as repeated data.find(marker, end of the last one) gives them (no overlaps). Each
   marker is a pair (bytes, anchor): anchor is the offset of a byte in it that is rare in pages (at most 8
   distinct anchor bytes over all markers). One pass that stops only at anchor bytes followed by a byte some
   marker has there. */
static PyObject *py_find_markers(PyObject *self, PyObject *args) {
    Py_buffer b;
    PyObject *markers;
    if (!PyArg_ParseTuple(args, "y*O!", &b, &PyTuple_Type, &markers)) return NULL;
    Py_ssize_t nm = PyTuple_GET_SIZE(markers);
    typedef struct {
        const unsigned char *m;
        size_t len, at;
    } mk_t;
    mk_t mk[128];
    unsigned char anchors[8];
    int na = 0, group_of[256], nmembers[8] = {0};
    uint8_t members[8][128]; /* per anchor byte: the markers anchored on it */
    uint8_t next_ok[8][32];  /* per anchor byte: the bytes that follow it in some marker (a bit set) */
    PyObject *found[128] = {NULL}; /* per marker: its positions (a list), once it occurs */
    size_t next[128] = {0};         /* per marker: where its next occurrence may start (no overlaps) */
    int nomem = 0;
    memset(next_ok, 0, sizeof next_ok);
    const char *err = nm > 128 ? "at most 128 markers" : NULL;
    for (Py_ssize_t i = 0; !err && i < nm; i++) {
        PyObject *m = PyTuple_GET_ITEM(markers, i), *bytes;
        Py_ssize_t at;
        if (!PyTuple_Check(m) || !PyArg_ParseTuple(m, "O!n", &PyBytes_Type, &bytes, &at) || at < 0 ||
            at >= PyBytes_GET_SIZE(bytes)) {
            PyErr_Clear();
            err = "markers must be (bytes, anchor offset inside them)";
            break;
        }
        mk[i].m = (const unsigned char *)PyBytes_AS_STRING(bytes);
        mk[i].len = (size_t)PyBytes_GET_SIZE(bytes);
        mk[i].at = (size_t)at;
        unsigned char c = mk[i].m[at];
        if (!memchr(anchors, c, na)) {
            if (na == 8) {
                err = "at most 8 distinct anchor bytes";
                break;
            }
            group_of[c] = na;
            anchors[na++] = c;
        }
        int g = group_of[c];
        members[g][nmembers[g]++] = (uint8_t)i;
        if ((size_t)at + 1 < mk[i].len) {
            unsigned char nx = mk[i].m[at + 1];
            next_ok[g][nx >> 3] |= (uint8_t)(1u << (nx & 7));
        } else {
            memset(next_ok[g], 0xff, 32); /* the anchor ends the marker: anything may follow */
        }
    }
    if (err) {
        PyBuffer_Release(&b);
        PyErr_SetString(PyExc_ValueError, err);
        return NULL;
    }
    const unsigned char *s = b.buf;
    size_t n = (size_t)b.len, i = 0;
#define AT(pos)                                                                                              \
    do {                                                                                                     \
        int g_ = group_of[s[pos]];                                                                           \
        if ((pos) + 1 < n && !(next_ok[g_][s[(pos) + 1] >> 3] & (1u << (s[(pos) + 1] & 7)))) break;         \
        for (int x_ = 0; x_ < nmembers[g_]; x_++) {                                                          \
            int j_ = members[g_][x_];                                                                        \
            const mk_t *k_ = &mk[j_];                                                                        \
            if ((pos) < k_->at || (pos) - k_->at + k_->len > n || (pos) - k_->at < next[j_]) continue;      \
            if (memcmp(s + (pos) - k_->at, k_->m, k_->len) == 0) {                                           \
                next[j_] = (pos) - k_->at + k_->len;                                                         \
                if (!found[j_] && !(found[j_] = PyList_New(0))) nomem = 1;                                   \
                PyObject *x_ = found[j_] ? PyLong_FromSize_t((pos) - k_->at) : NULL;                         \
                if (!x_ || PyList_Append(found[j_], x_) < 0) nomem = 1;                                      \
                Py_XDECREF(x_);                                                                              \
            }                                                                                                \
        }                                                                                                    \
    } while (0)
#ifdef __SSE2__
    if (na && na <= 4) {
        /* straight-line: four compares (unused ones repeat the first anchor), two 16-byte blocks a round */
        __m128i a0 = _mm_set1_epi8((char)anchors[0]), a1 = _mm_set1_epi8((char)anchors[na > 1 ? 1 : 0]),
                a2 = _mm_set1_epi8((char)anchors[na > 2 ? 2 : 0]), a3 = _mm_set1_epi8((char)anchors[na > 3 ? 3 : 0]);
#define HITS(v) _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, a0), _mm_cmpeq_epi8(v, a1)), \
                                               _mm_or_si128(_mm_cmpeq_epi8(v, a2), _mm_cmpeq_epi8(v, a3))))
        for (; !nomem && i + 32 <= n; i += 32) {
            __m128i v = _mm_loadu_si128((const __m128i *)(s + i)), w = _mm_loadu_si128((const __m128i *)(s + i + 16));
            unsigned mask = (unsigned)HITS(v) | ((unsigned)HITS(w) << 16);
            for (; mask; mask &= mask - 1) {
                size_t pos = i + __builtin_ctz(mask);
                AT(pos);
            }
        }
#undef HITS
    } else {
        __m128i sets[8];
        for (int k = 0; k < na; k++) sets[k] = _mm_set1_epi8((char)anchors[k]);
        for (; !nomem && na && i + 16 <= n; i += 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(s + i)), acc = _mm_cmpeq_epi8(v, sets[0]);
            for (int k = 1; k < na; k++) acc = _mm_or_si128(acc, _mm_cmpeq_epi8(v, sets[k]));
            for (unsigned mask = (unsigned)_mm_movemask_epi8(acc); mask; mask &= mask - 1) {
                size_t pos = i + __builtin_ctz(mask);
                AT(pos);
            }
        }
    }
#endif
    for (; !nomem && i < n; i++)
        if (memchr(anchors, s[i], na)) AT(i);
#undef AT
    PyBuffer_Release(&b);
    PyObject *out = nomem ? NULL : PyList_New(0);
    for (Py_ssize_t j = 0; out && j < nm; j++)
        if (found[j]) {
            PyObject *x = Py_BuildValue("(nO)", j, found[j]);
            if (!x || PyList_Append(out, x) < 0) Py_CLEAR(out);
            Py_XDECREF(x);
        }
    for (Py_ssize_t j = 0; j < nm; j++) Py_XDECREF(found[j]);
    if (!out && !PyErr_Occurred()) PyErr_NoMemory();
    return out;
}

/* utf8_valid(data) -> whether data decodes as strict UTF-8 (as bytes.decode("utf-8") does) */
static PyObject *py_utf8_valid(PyObject *self, PyObject *args) {
    Py_buffer b;
    if (!PyArg_ParseTuple(args, "y*", &b)) return NULL;
    int ok = utf8_valid(b.buf, b.len);
    PyBuffer_Release(&b);
    return PyBool_FromLong(ok);
}
