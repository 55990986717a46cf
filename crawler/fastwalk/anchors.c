/* Anchors and regex runs of the inline signatures: the anchors each signature's matches start at (from the
   needle scan's record, or one pass over the text), and the signature's regex tried only there.
   Part of crawler/_fastwalk.c, which includes the parts in order as one translation unit (after needles.c). */

/* the anchors of py_needles, each tied to a group-0 needle with the same literal if any (every text is
   scanned for all of them, so their recorded occurrences are complete whichever signature they belong to) */
static int take_anchors(needles_t *t, PyObject *anchors) {
    Py_ssize_t na = PyList_GET_SIZE(anchors);
    t->anchors = PyMem_Calloc(na ? na : 1, sizeof(anchor_t));
    t->astart = PyMem_Calloc(t->nsigs + 1, sizeof(int));
    if (!t->anchors || !t->astart) {
        PyErr_NoMemory();
        return -1;
    }
    int last = 0;
    for (Py_ssize_t i = 0; i < na; i++) {
        char *b;
        Py_ssize_t len, off;
        int sig;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(anchors, i), "y#in", &b, &len, &sig, &off) || len < 1 || off < 0 ||
            sig < last || sig >= t->nsigs) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "anchors: (bytes, sig, offset) sorted by sig");
            return -1;
        }
        anchor_t *a = &t->anchors[i];
        a->bytes = PyMem_Malloc(len);
        if (!a->bytes) {
            PyErr_NoMemory();
            return -1;
        }
        memcpy(a->bytes, b, len);
        a->len = (size_t)len;
        a->sig = sig;
        a->off = (size_t)off;
        a->needle = -1;
        t->nanchors = (int)i + 1;
        for (int j = 0; j < t->n; j++) {
            needle_t *nd = &t->needles[j];
            if (nd->group == 0 && nd->len == a->len && memcmp(nd->bytes, b, len) == 0) {
                a->needle = j;
                nd->record = 1;
                break;
            }
        }
        for (int s = last + 1; s <= sig; s++) t->astart[s] = (int)i;
        last = sig;
    }
    for (int s = last + 1; s <= t->nsigs; s++) t->astart[s] = (int)na;
    /* a signature with several anchors the scan does not record (the case spellings of a case-insensitive
       group) looks for all of them in one pass over the text, not one memmem each */
    t->first = PyMem_Calloc(t->nsigs ? t->nsigs : 1, sizeof(uint8_t *));
    if (!t->first) {
        PyErr_NoMemory();
        return -1;
    }
    for (int s = 0; s < t->nsigs; s++) {
        int unrecorded = 0;
        for (int a = t->astart[s]; a < t->astart[s + 1]; a++) unrecorded += t->anchors[a].needle < 0;
        if (unrecorded < 2) continue;
        if (!(t->first[s] = PyMem_Calloc(256, 1))) {
            PyErr_NoMemory();
            return -1;
        }
        for (int a = t->astart[s]; a < t->astart[s + 1]; a++)
            if (t->anchors[a].needle < 0) t->first[s][t->anchors[a].bytes[0]] = 1;
    }
    return 0;
}

static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* The sorted, distinct code-point offsets where a match of signature `sig` may start in buf (valid UTF-8;
   `ascii`: it has no multi-byte sequence): each anchor occurrence less the anchor's offset, into *out (owned
   by the caller, PyMem). Occurrences of anchors that are needles come from the scan's record, the others are
   searched here. Returns their number, SIZE_MAX when the signature has no anchors (or the record is
   incomplete; then its regex searches the whole text), or SIZE_MAX - 1 on no memory. */
static size_t anchor_starts(const needles_t *t, int sig, const unsigned char *buf, size_t n, int ascii,
                            const occs_t *occ, size_t **out) {
    int a0 = t->astart[sig], a1 = t->astart[sig + 1];
    *out = NULL;
    if (a0 == a1 || (occ && occ->n == SIZE_MAX)) return SIZE_MAX;
    size_t cap = 64, k = 0;
    size_t *v = PyMem_Malloc(cap * 2 * sizeof(size_t)); /* (byte position, offset) pairs */
    if (!v) return SIZE_MAX - 1;
#define PUSH(pos_, off_)                                                      \
    do {                                                                      \
        if (k == cap) {                                                       \
            size_t *w_ = PyMem_Realloc(v, cap * 4 * sizeof(size_t));           \
            if (!w_) {                                                        \
                PyMem_Free(v);                                                \
                return SIZE_MAX - 1;                                          \
            }                                                                 \
            v = w_;                                                           \
            cap *= 2;                                                         \
        }                                                                     \
        v[2 * k] = (pos_);                                                    \
        v[2 * k++ + 1] = (off_);                                              \
    } while (0)
    const uint8_t *first = t->first[sig];
    for (int a = a0; a < a1; a++) {
        const anchor_t *an = &t->anchors[a];
        if (an->needle >= 0 && occ) {
            for (size_t j = 0; j < occ->n; j++)
                if (occ->v[j].needle == an->needle) PUSH(occ->v[j].pos, an->off);
        } else if (!first || an->needle >= 0) {
            for (const unsigned char *f = memmem(buf, n, an->bytes, an->len); f;
                 f = (size_t)(f - buf) + 1 < n ? memmem(f + 1, n - (size_t)(f - buf) - 1, an->bytes, an->len) : NULL)
                PUSH((size_t)(f - buf), an->off);
        }
    }
    if (first) /* the unrecorded anchors (needle < 0) in one pass */
        for (size_t i = 0; i < n; i++) {
            if (!first[buf[i]]) continue;
            for (int a = a0; a < a1; a++) {
                const anchor_t *an = &t->anchors[a];
                if (an->needle < 0 && an->bytes[0] == buf[i] && an->len <= n - i &&
                    memcmp(buf + i, an->bytes, an->len) == 0)
                    PUSH(i, an->off);
            }
        }
#undef PUSH
    /* byte positions to code points (one sweep over the sorted positions), less each anchor's offset */
    if (!ascii) qsort(v, k, 2 * sizeof(size_t), cmp_size);
    size_t m = 0, cp = 0, at = 0;
    for (size_t j = 0; j < k; j++) {
        size_t pos = v[2 * j], off = v[2 * j + 1];
        if (!ascii) {
            for (; at + 8 <= pos; at += 8) { /* 8 bytes a step: those that are not continuation bytes */
                uint64_t w;
                memcpy(&w, buf + at, 8);
                cp += 8 - (size_t)__builtin_popcountll(w & ~(w << 1) & 0x8080808080808080ULL);
            }
            for (; at < pos; at++) cp += (buf[at] & 0xc0) != 0x80;
        } else {
            cp = pos;
        }
        if (cp >= off) v[m++] = cp - off;
    }
    qsort(v, m, sizeof(size_t), cmp_size);
    size_t d = 0;
    for (size_t j = 0; j < m; j++)
        if (!d || v[j] != v[d - 1]) v[d++] = v[j];
    *out = v;
    return d;
}

/* The matches of a signature's regex in text (a str): tried at the given starts only, as
   common.signatures._anchored_finditer does (after a match, the next start at or after its end), or,
   without starts, regex.finditer's.
   Appends them to `into` (a new list when NULL); returns 0, or -1 on error. */
static int regex_matches(PyObject *regex, PyObject *text, const size_t *starts, size_t count, PyObject **into) {
    if (count == SIZE_MAX) {
        PyObject *it = PyObject_CallMethodOneArg(regex, s_finditer, text), *m;
        if (!it) return -1;
        while ((m = PyIter_Next(it))) {
            if ((!*into && !(*into = PyList_New(0))) || PyList_Append(*into, m) < 0) {
                Py_DECREF(m);
                Py_DECREF(it);
                return -1;
            }
            Py_DECREF(m);
        }
        Py_DECREF(it);
        return PyErr_Occurred() ? -1 : 0;
    }
    size_t pos = 0;
    for (size_t j = 0; j < count; j++) {
        size_t q = starts[j];
        if (q < pos) continue;
        PyObject *at = PyLong_FromSize_t(q);
        if (!at) return -1;
        PyObject *args[3] = {regex, text, at};
        PyObject *m = PyObject_VectorcallMethod(s_match, args, 3 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
        Py_DECREF(at);
        if (!m) return -1;
        if (m == Py_None) {
            Py_DECREF(m);
            continue;
        }
        PyObject *e = PyObject_CallMethodNoArgs(m, s_end);
        size_t end = e ? PyLong_AsSize_t(e) : (size_t)-1;
        Py_XDECREF(e);
        if (end == (size_t)-1 || (!*into && !(*into = PyList_New(0))) || PyList_Append(*into, m) < 0) {
            Py_DECREF(m);
            return -1;
        }
        Py_DECREF(m);
        pos = end > q ? end : q + 1;
    }
    return 0;
}
