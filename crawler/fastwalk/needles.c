/* The needle prefilter of the inline signatures: a table built from the Python signatures (needles, further
   literal sets, anchors, regexes) and one pass over a text (anchors.c: the anchor positions, the regex runs).
   Part of crawler/_fastwalk.c, which includes the parts in order as one translation unit. */

/* --- needles ---------------------------------------------------------------------------------------------- */
/* The scan loads the four bytes at each position as a word (the same on either byte order, since the build
   and the scan load the bytes the same way) and tests a 20-bit hash of it in a bit table (128 KiB) that holds
   the first four bytes of every group-0 needle, and of a three-byte needle every fourth byte; only where a bit
   is set (about one position in fifty) does it look the word up exactly, in a small hash table of those first
   four (or three) bytes, and compare the needles that start so. */
#define FILTER_BITS 20
#define FILTER_HASH(w) ((unsigned)(((uint32_t)(w) * 0x85ebca6bu) >> (32 - FILTER_BITS)))
#define GRAM_HASH(w, bits) ((unsigned)(((uint32_t)(w) * 0x9e3779b1u) >> (32 - (bits))))
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define TRI_MASK 0xffffff00u
#define BYTE4_SHIFT 0
#else
#define TRI_MASK 0x00ffffffu
#define BYTE4_SHIFT 24
#endif

/* an exact lookup table of words: slot -> the first of the entries (sorted by word) with that word, or -1 */
typedef struct {
    uint32_t word;
    int first;
} slot_t;
typedef struct {
    uint32_t word;
    int needle;
} entry_t;
typedef struct {
    slot_t *slots; /* 1 << bits of them, at least twice as many as distinct words */
    unsigned bits;
    entry_t *entries; /* sorted by word */
    int n;
} grams_t;

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
    uint8_t *filter;         /* (1 << FILTER_BITS) bits: FILTER_HASH of the first four bytes of any group-0 needle */
    grams_t quads, tris;     /* group-0 needles of >= 4 bytes by their first four, of 3 bytes by their three */
    int short_needle;        /* a group-0 needle of 2 bytes: the word filter is off (the pair table and order) */
    int *order;              /* group-0 needles sorted by their first two bytes */
    int norder;
    anchor_t *anchors;       /* grouped by signature: those of signature s are anchors[astart[s] .. astart[s+1]) */
    int nanchors;
    int *astart;
    uint8_t **first;         /* per signature with several anchors the scan does not record: their first bytes */
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
    PyMem_Free(t->filter);
    PyMem_Free(t->quads.entries);
    PyMem_Free(t->tris.entries);
    PyMem_Free(t->quads.slots);
    PyMem_Free(t->tris.slots);
    PyMem_Free(t->anchors);
    if (t->first)
        for (int s = 0; s < t->nsigs; s++) PyMem_Free(t->first[s]);
    PyMem_Free(t->first);
    PyMem_Free(t->astart);
    Py_XDECREF(t->regexes);
    PyMem_Free(t);
}

static int take_anchors(needles_t *t, PyObject *anchors);

static int cmp_entry(const void *a, const void *b) {
    uint32_t x = ((const entry_t *)a)->word, y = ((const entry_t *)b)->word;
    int i = ((const entry_t *)a)->needle, j = ((const entry_t *)b)->needle;
    return x < y ? -1 : x > y ? 1 : (i > j) - (i < j);
}

/* the exact word table of the needles whose first word (`mask`: four bytes, or three) it holds */
static int fill_grams(grams_t *g, const needles_t *t, int want_len4, uint32_t mask) {
    int count = 0;
    for (int i = 0; i < t->n; i++)
        count += t->needles[i].group == 0 && (t->needles[i].len >= 4) == want_len4 && t->needles[i].len >= 3;
    g->entries = PyMem_Calloc(count ? count : 1, sizeof(entry_t));
    if (!g->entries) return -1;
    for (int i = 0; i < t->n; i++) {
        const needle_t *nd = &t->needles[i];
        if (nd->group || (nd->len >= 4) != want_len4 || nd->len < 3) continue;
        unsigned char w4[4] = {nd->bytes[0], nd->bytes[1], nd->bytes[2], nd->len > 3 ? nd->bytes[3] : 0};
        uint32_t w;
        memcpy(&w, w4, 4);
        g->entries[g->n++] = (entry_t){w & mask, i};
    }
    qsort(g->entries, g->n, sizeof(entry_t), cmp_entry);
    int distinct = 0;
    for (int j = 0; j < g->n; j++) distinct += !j || g->entries[j].word != g->entries[j - 1].word;
    for (g->bits = 10; (1 << g->bits) < 2 * distinct && g->bits < 30; g->bits++) {}
    unsigned last = (1u << g->bits) - 1;
    if (!(g->slots = PyMem_Malloc(((size_t)last + 1) * sizeof(slot_t)))) return -1;
    for (unsigned k = 0; k <= last; k++) g->slots[k].first = -1;
    for (int j = 0; j < g->n; j++) {
        if (j && g->entries[j].word == g->entries[j - 1].word) continue;
        unsigned h = GRAM_HASH(g->entries[j].word, g->bits);
        while (g->slots[h].first >= 0) h = (h + 1) & last;
        g->slots[h] = (slot_t){g->entries[j].word, j};
    }
    return 0;
}

/* the word filter and the exact word tables of the group-0 needles */
static int build_grams(needles_t *t) {
    t->filter = PyMem_Calloc((1u << FILTER_BITS) / 8, 1);
    if (!t->filter) {
        PyErr_NoMemory();
        return -1;
    }
    if (fill_grams(&t->quads, t, 1, 0xffffffffu) < 0 || fill_grams(&t->tris, t, 0, TRI_MASK) < 0) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        return -1;
    }
    for (int j = 0; j < t->quads.n; j++) {
        unsigned h = FILTER_HASH(t->quads.entries[j].word);
        t->filter[h >> 3] |= (uint8_t)(1u << (h & 7));
    }
    for (int j = 0; j < t->tris.n; j++) /* a three-byte needle: every fourth byte */
        for (uint32_t x = 0; x < 256; x++) {
            unsigned h = FILTER_HASH(t->tris.entries[j].word | (x << BYTE4_SHIFT));
            t->filter[h >> 3] |= (uint8_t)(1u << (h & 7));
        }
    return 0;
}

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
            if (len < 3) t->short_needle = 1;
        }
        t->n = (int)i + 1;
    }
    if (build_grams(t) < 0) {
        PyObject *cap = PyCapsule_New(t, "fastwalk.needles", needles_free);
        Py_XDECREF(cap);
        return NULL;
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

/* a needle found at buf[i]: hit[sig] |= 1, and its position goes to occ when it is an anchor's */
static inline void needle_found(const needles_t *t, int needle, size_t i, uint8_t *hit, occs_t *occ) {
    const needle_t *nd = &t->needles[needle];
    hit[nd->sig] |= 1;
    if (occ && nd->record && occ->n != SIZE_MAX && occs_push(occ, needle, i) < 0) occ->n = SIZE_MAX;
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
            needle_found(t, t->order[j], i, hit, occ);
            any = 1;
        }
    }
    return any;
}

/* the entries of g whose word is w: their index range [*lo, return) */
static inline int grams_find(const grams_t *g, uint32_t w, int *lo) {
    if (!g->n) return *lo = 0;
    unsigned h = GRAM_HASH(w, g->bits), last = (1u << g->bits) - 1;
    while (g->slots[h].first >= 0 && g->slots[h].word != w) h = (h + 1) & last;
    int j = *lo = g->slots[h].first;
    if (j < 0) return *lo = 0;
    while (j < g->n && g->entries[j].word == w) j++;
    return j;
}

/* the group-0 needles starting at buf[i], whose first four bytes are the word w (`four`: all four are in buf,
   else only three): as needle_at, by the word tables */
static int words_at(const needles_t *t, const unsigned char *buf, size_t n, size_t i, uint32_t w, int four,
                    uint8_t *hit, occs_t *occ) {
    int any = 0, lo, hi;
    if (four)
        for (hi = grams_find(&t->quads, w, &lo); lo < hi; lo++) {
            const needle_t *nd = &t->needles[t->quads.entries[lo].needle];
            if (nd->len <= n - i && memcmp(buf + i + 4, nd->bytes + 4, nd->len - 4) == 0) {
                needle_found(t, t->quads.entries[lo].needle, i, hit, occ);
                any = 1;
            }
        }
    for (hi = grams_find(&t->tris, w & TRI_MASK, &lo); lo < hi; lo++) {
        needle_found(t, t->tris.entries[lo].needle, i, hit, occ);
        any = 1;
    }
    return any;
}

/* sets hit[s] for the signatures s one literal of each of whose groups occurs in buf; returns their number */
static int needle_scan(const needles_t *t, const unsigned char *buf, size_t n, uint8_t *hit, occs_t *occ) {
    if (t->norder == 0 || n < 2) return 0;
    int any = 0;
    size_t i = 0;
    if (!t->short_needle) {
        /* every group-0 needle has >= 3 bytes: test the word filter at each position without a branch, 64
           positions at a time, and look up only the positions whose bit is set; a branch per position
           mispredicts on every such hit and cost more than the test */
        while (i + 3 + 64 <= n) { /* a four-byte load at each of the 64 positions stays inside buf */
            uint64_t m = 0;
            for (unsigned j = 0; j < 64; j++) {
                uint32_t w;
                memcpy(&w, buf + i + j, 4);
                unsigned h = FILTER_HASH(w);
                m |= (uint64_t)((t->filter[h >> 3] >> (h & 7)) & 1u) << j;
            }
            while (m) {
                unsigned j = (unsigned)__builtin_ctzll(m);
                m &= m - 1;
                uint32_t w;
                memcpy(&w, buf + i + j, 4);
                any |= words_at(t, buf, n, i + j, w, 1, hit, occ);
            }
            i += 64;
        }
        for (; i + 2 < n; i++) {
            unsigned char w4[4] = {buf[i], buf[i + 1], buf[i + 2], i + 3 < n ? buf[i + 3] : 0};
            uint32_t w;
            memcpy(&w, w4, 4);
            unsigned h = FILTER_HASH(w);
            if (i + 3 >= n || ((t->filter[h >> 3] >> (h & 7)) & 1u))
                any |= words_at(t, buf, n, i, w, i + 3 < n, hit, occ);
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
