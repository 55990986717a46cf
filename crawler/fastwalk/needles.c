/* The needle prefilter of the inline signatures: a table built from the Python signatures (needles, further
   literal sets, anchors, regexes), one pass over a text, the anchor positions and the regex runs at them.
   Part of crawler/_fastwalk.c, which includes the parts in order as one translation unit. */

/* --- needles ---------------------------------------------------------------------------------------------- */
/* a 16-bit hash of the first three bytes of a word loaded from memory (the fourth byte is masked off; the
   same on either byte order, since the build and the scan load the bytes the same way), and of all four */
#define TRI4(w) ((unsigned)((((uint32_t)(w) & TRI_MASK) * 0x9e3779b1u) >> 16))
#define QUAD4(w) ((unsigned)(((uint32_t)(w) * 0x85ebca6bu) >> 16))
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define TRI_MASK 0xffffff00u
#else
#define TRI_MASK 0x00ffffffu
#endif

typedef struct {
    unsigned char *bytes;
    size_t len;
    int sig;
    int group; /* 0: the signature's needles; 1..: further literal sets, one of each must occur too */
    int record; /* a group-0 needle that is also some signature's anchor: the scan records where it occurs */
} needle_t;

/* an anchor of a signature: every match starts `off` code points before an occurrence of one of them */
typedef struct {
    unsigned char *bytes;
    size_t len;
    int sig;
    size_t off;
    int needle; /* a group-0 needle (of any signature) with the same literal: its occurrences are recorded; or -1 */
} anchor_t;

/* where recorded needles occur (growable) */
typedef struct {
    int needle;
    size_t pos;
} occ_t;
typedef struct {
    occ_t *v;
    size_t n, cap;
} occs_t;

typedef struct {
    int n;
    needle_t *needles;
    int nsigs;
    uint8_t *full; /* per signature: the group mask that makes a hit */
    int lower; /* some needles must be looked up in the lower-cased text: left to Python */
    int always; /* some signatures have no needle: every text goes to Python */
    uint8_t pair[65536 / 8]; /* first two bytes of any group-0 needle */
    uint8_t tri[65536 / 8];  /* a hash of the first three bytes of any 3-byte group-0 needle */
    uint8_t quad[65536 / 8]; /* a hash of the first four bytes of any longer group-0 needle */
    int short_needle;        /* a group-0 needle of 2 bytes: the three-byte filter is off */
    int *order;              /* group-0 needles sorted by their first two bytes */
    int norder;
    anchor_t *anchors;       /* grouped by signature: those of signature s are anchors[astart[s] .. astart[s+1]) */
    int nanchors;
    int *astart;
    PyObject *regexes;       /* per signature its compiled regex (a tuple, owned) */
} needles_t;

static void needles_free(PyObject *cap) {
    needles_t *t = PyCapsule_GetPointer(cap, "fastwalk.needles");
    if (!t) return;
    for (int i = 0; i < t->n; i++) PyMem_Free(t->needles[i].bytes);
    for (int i = 0; i < t->nanchors; i++) PyMem_Free(t->anchors[i].bytes);
    PyMem_Free(t->needles);
    PyMem_Free(t->full);
    PyMem_Free(t->order);
    PyMem_Free(t->anchors);
    PyMem_Free(t->astart);
    Py_XDECREF(t->regexes);
    PyMem_Free(t);
}

static int take_anchors(needles_t *t, PyObject *anchors);

/* needles(plain: list[(bytes, sig index, group)], groups per signature: list[int], lower, always,
   anchors: list[(bytes, sig index, offset)] sorted by signature, regexes: tuple of each signature's compiled
   regex) -> capsule */
static PyObject *py_needles(PyObject *self, PyObject *args) {
    PyObject *plain, *counts, *anchors, *regexes;
    int nsigs, lower, always;
    if (!PyArg_ParseTuple(args, "O!O!ppO!O!", &PyList_Type, &plain, &PyList_Type, &counts, &lower, &always,
                          &PyList_Type, &anchors, &PyTuple_Type, &regexes))
        return NULL;
    nsigs = (int)PyList_GET_SIZE(counts);
    if (PyTuple_GET_SIZE(regexes) != nsigs) {
        PyErr_SetString(PyExc_ValueError, "one regex per signature");
        return NULL;
    }
    needles_t *t = PyMem_Calloc(1, sizeof(needles_t));
    if (!t) return PyErr_NoMemory();
    Py_ssize_t n = PyList_GET_SIZE(plain);
    t->needles = PyMem_Calloc(n ? n : 1, sizeof(needle_t));
    t->full = PyMem_Calloc(nsigs ? nsigs : 1, 1);
    for (int i = 0; i < nsigs; i++) {
        long g = PyLong_AsLong(PyList_GET_ITEM(counts, i));
        if (g < 1 || g > 8) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "1 to 8 groups per signature");
            PyObject *cap = PyCapsule_New(t, "fastwalk.needles", needles_free);
            Py_XDECREF(cap);
            return NULL;
        }
        t->full[i] = (uint8_t)((1u << g) - 1);
    }
    t->nsigs = nsigs;
    t->regexes = Py_NewRef(regexes);
    t->lower = lower;
    t->always = always;
    for (Py_ssize_t i = 0; i < n; i++) {
        char *b;
        Py_ssize_t len;
        int sig, group;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(plain, i), "y#ii", &b, &len, &sig, &group) || len < 2 || sig < 0 ||
            sig >= nsigs || group < 0 || group > 7) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "needles must be >= 2 bytes");
            t->n = (int)i;
            PyObject *cap = PyCapsule_New(t, "fastwalk.needles", needles_free);
            Py_XDECREF(cap);
            return NULL;
        }
        t->needles[i].bytes = PyMem_Malloc(len);
        memcpy(t->needles[i].bytes, b, len);
        t->needles[i].len = len;
        t->needles[i].sig = sig;
        t->needles[i].group = group;
        if (group == 0) {
            unsigned k = ((unsigned char)b[0] << 8) | (unsigned char)b[1];
            t->pair[k >> 3] |= (uint8_t)(1u << (k & 7));
            if (len >= 3) {
                unsigned char w4[4] = {(unsigned char)b[0], (unsigned char)b[1], (unsigned char)b[2],
                                       len > 3 ? (unsigned char)b[3] : 0};
                uint32_t w;
                memcpy(&w, w4, 4);
                unsigned h = len > 3 ? QUAD4(w) : TRI4(w);
                uint8_t *bits = len > 3 ? t->quad : t->tri;
                bits[h >> 3] |= (uint8_t)(1u << (h & 7));
            } else {
                t->short_needle = 1;
            }
        }
        t->n = (int)i + 1;
    }
    if (take_anchors(t, anchors) < 0) {
        PyObject *cap = PyCapsule_New(t, "fastwalk.needles", needles_free);
        Py_XDECREF(cap);
        return NULL;
    }
    t->order = PyMem_Calloc(t->n ? t->n : 1, sizeof(int));
    for (int i = 0; i < t->n; i++)
        if (t->needles[i].group == 0) t->order[t->norder++] = i;
    for (int i = 1; i < t->norder; i++) /* insertion sort by first two bytes */
        for (int j = i; j > 0; j--) {
            const unsigned char *a = t->needles[t->order[j - 1]].bytes, *c = t->needles[t->order[j]].bytes;
            if (a[0] < c[0] || (a[0] == c[0] && a[1] <= c[1])) break;
            int x = t->order[j];
            t->order[j] = t->order[j - 1];
            t->order[j - 1] = x;
        }
    return PyCapsule_New(t, "fastwalk.needles", needles_free);
}


static int occs_push(occs_t *o, int needle, size_t pos) {
    if (o->n == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 64;
        occ_t *v = PyMem_Realloc(o->v, cap * sizeof(occ_t));
        if (!v) return -1;
        o->v = v;
        o->cap = cap;
    }
    o->v[o->n].needle = needle;
    o->v[o->n++].pos = pos;
    return 0;
}

/* the group-0 needles starting at buf[i] (their first two bytes are k): hit[sig] |= 1, and where an anchor
   needle occurs goes to occ (when given; on no memory the recording stops and occ->n is set to SIZE_MAX);
   returns whether any */
static int needle_at(const needles_t *t, const unsigned char *buf, size_t n, size_t i, uint8_t *hit, occs_t *occ) {
    unsigned k = ((unsigned)buf[i] << 8) | buf[i + 1];
    int lo = 0, hi = t->norder, any = 0; /* binary search the sorted group-0 needles for this pair */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        const unsigned char *b = t->needles[t->order[mid]].bytes;
        if (((unsigned)b[0] << 8 | b[1]) < k) lo = mid + 1;
        else hi = mid;
    }
    for (int j = lo; j < t->norder; j++) {
        const needle_t *nd = &t->needles[t->order[j]];
        if (((unsigned)nd->bytes[0] << 8 | nd->bytes[1]) != k) break;
        if (nd->len <= n - i && memcmp(buf + i, nd->bytes, nd->len) == 0) {
            hit[nd->sig] |= 1;
            any = 1;
            if (occ && nd->record && occ->n != SIZE_MAX && occs_push(occ, t->order[j], i) < 0) occ->n = SIZE_MAX;
        }
    }
    return any;
}

/* sets hit[s] for the signatures s one literal of each of whose groups occurs in buf; returns their number */
static int needle_scan(const needles_t *t, const unsigned char *buf, size_t n, uint8_t *hit, occs_t *occ) {
    if (t->norder == 0 || n < 2) return 0;
    int any = 0;
    size_t i = 0;
    if (!t->short_needle) {
        /* every group-0 needle has >= 3 bytes: test the hash of the three bytes (for 3-byte needles) and of
           the four bytes (for longer ones) at each position without a branch, 64 positions at a time, and
           look up only the positions whose bit is set (about one in a hundred); a branch per position
           mispredicts on every such hit and cost more than the test */
        while (i + 3 + 64 <= n) { /* a four-byte load at each of the 64 positions stays inside buf */
            uint64_t m = 0;
            for (unsigned j = 0; j < 64; j++) {
                uint32_t w;
                memcpy(&w, buf + i + j, 4);
                unsigned h = TRI4(w), q = QUAD4(w);
                m |= (uint64_t)(((t->tri[h >> 3] >> (h & 7)) | (t->quad[q >> 3] >> (q & 7))) & 1u) << j;
            }
            while (m) {
                unsigned j = (unsigned)__builtin_ctzll(m);
                m &= m - 1;
                any |= needle_at(t, buf, n, i + j, hit, occ);
            }
            i += 64;
        }
        for (; i + 2 < n; i++) {
            unsigned char w4[4] = {buf[i], buf[i + 1], buf[i + 2], i + 3 < n ? buf[i + 3] : 0};
            uint32_t w;
            memcpy(&w, w4, 4);
            unsigned h = TRI4(w), q = QUAD4(w);
            if ((t->tri[h >> 3] >> (h & 7)) & 1u || (i + 3 < n && ((t->quad[q >> 3] >> (q & 7)) & 1u)))
                any |= needle_at(t, buf, n, i, hit, occ);
        }
    } else {
        for (; i + 1 < n; i++) {
            unsigned k = ((unsigned)buf[i] << 8) | buf[i + 1];
            if (t->pair[k >> 3] & (1u << (k & 7))) any |= needle_at(t, buf, n, i, hit, occ);
        }
    }
    if (!any) return 0;
    /* the further groups, only for signatures whose needles occur */
    for (int j = 0; j < t->n; j++) {
        const needle_t *nd = &t->needles[j];
        if (nd->group && (hit[nd->sig] & 1) && !(hit[nd->sig] & (1u << nd->group)) &&
            memmem(buf, n, nd->bytes, nd->len))
            hit[nd->sig] |= (uint8_t)(1u << nd->group);
    }
    int count = 0;
    for (int s = 0; s < t->nsigs; s++) {
        hit[s] = hit[s] == t->full[s];
        count += hit[s];
    }
    return count;
}

/* needle_hits(needles, data) -> the indexes of the signatures whose needles occur in data (UTF-8), or None
   when some signature needs Python's look (no needle, lower-case needles) */
static PyObject *py_needle_hits(PyObject *self, PyObject *args) {
    PyObject *cap;
    Py_buffer b;
    if (!PyArg_ParseTuple(args, "Oy*", &cap, &b)) return NULL;
    const needles_t *t = PyCapsule_GetPointer(cap, "fastwalk.needles");
    PyObject *out = NULL;
    if (!t) goto done;
    if (t->always || t->lower) {
        out = Py_None;
        Py_INCREF(out);
        goto done;
    }
    uint8_t *hit = PyMem_Calloc(t->nsigs + 1, 1);
    if (!hit) {
        PyErr_NoMemory();
        goto done;
    }
    int count = needle_scan(t, b.buf, (size_t)b.len, hit, NULL);
    out = PyList_New(count);
    for (int i = 0, k = 0; out && i < t->nsigs && k < count; i++)
        if (hit[i]) {
            PyObject *v = PyLong_FromLong(i);
            if (!v) Py_CLEAR(out);
            else PyList_SET_ITEM(out, k++, v);
        }
    PyMem_Free(hit);
done:
    PyBuffer_Release(&b);
    return out;
}

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
    for (int a = a0; a < a1; a++) {
        const anchor_t *an = &t->anchors[a];
        if (an->needle >= 0 && occ) {
            for (size_t j = 0; j < occ->n; j++)
                if (occ->v[j].needle == an->needle) PUSH(occ->v[j].pos, an->off);
        } else {
            for (const unsigned char *f = memmem(buf, n, an->bytes, an->len); f;
                 f = (size_t)(f - buf) + 1 < n ? memmem(f + 1, n - (size_t)(f - buf) - 1, an->bytes, an->len) : NULL)
                PUSH((size_t)(f - buf), an->off);
        }
    }
#undef PUSH
    /* byte positions to code points (one sweep over the sorted positions), less each anchor's offset */
    if (!ascii) qsort(v, k, 2 * sizeof(size_t), cmp_size);
    size_t m = 0, cp = 0, at = 0;
    for (size_t j = 0; j < k; j++) {
        size_t pos = v[2 * j], off = v[2 * j + 1];
        if (!ascii) {
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
