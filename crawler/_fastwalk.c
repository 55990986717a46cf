/* Native walk for crawler/observe.py: the hot loop of observe() over a lexbor tree, in C.
 *
 * The pure-Python walk (observe._Walk.visit over tree.css(_SELECTOR)) is the reference. This module walks
 * the same elements in the same (document) order and handles the common cases itself: absolute http(s)
 * URLs with a plain host, relative URLs without dot segments, srcset lists, <link rel>, script types, URL
 * literals in inline scripts, the needle prefilter of the inline signatures, and <a href> links. Everything
 * else (non-ASCII values, odd URLs, CSS, meta refresh, held-back script and iframe URLs, signature regexes)
 * is handed back to the _Walk object's Python methods, which share the page state (references, their dedup
 * keys, signature lists, links). So each case is either provably the same as the Python code or is the
 * Python code; tests compare both walks.
 *
 * Rules are written once, in crawler/observe.py: which elements are visited and which of their attributes
 * fetch something, the script types that run or hold data, the link rels that fetch, the skipped URL
 * schemes, the attributes that hold a URL back, the signature window. configure() receives them when the
 * module is set up; this file holds only the walk and its parsing primitives.
 *
 * lexbor is reached through the functions selectolax's extension exports (the "_noi" variants, made for
 * bindings), found with dlsym; no lexbor struct layout is used here. pyproject.toml pins selectolax to the
 * minor version these symbols were tested with, and observe._native() checks both walks agree at start-up.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <dlfcn.h>
#include <stdint.h>
#include <string.h>

typedef void lnode;
typedef void lattr;

static lnode *(*f_first_child)(lnode *);
static lnode *(*f_next)(lnode *);
static lnode *(*f_parent)(lnode *);
static int (*f_type)(lnode *);
static uintptr_t (*f_tag_id)(lnode *);
static lattr *(*f_first_attr)(lnode *);
static lattr *(*f_next_attr)(lattr *);
static const unsigned char *(*f_attr_qname)(lattr *, size_t *);
static const unsigned char *(*f_attr_value)(lattr *, size_t *);
static unsigned char *(*f_text_content)(lnode *, size_t *);
static void *(*f_destroy_text)(lnode *, unsigned char *);
static const unsigned char *(*f_element_qname)(lnode *, size_t *);
static int loaded = 0;

#define ELEMENT_NODE 1

/* --- the rule tables, as configure() received them from crawler/observe.py ------------------------------ */
enum { R_NONE, R_FETCH, R_SCRIPT, R_LINK, R_META, R_STYLE, R_TITLE, R_ANCHOR, R_TEMPLATE };
static const char *ROLE_NAMES[] = {"", "fetch", "script", "link", "meta", "style", "title", "anchor", "template",
                                   NULL};
#define MAX_TAGS 32
#define MAX_FETCH 4
#define NO_TAG 255

typedef struct {
    PyObject *names; /* tuple of interned str (owned) */
    const char **c;  /* their UTF-8 (borrowed from names) */
    size_t *len;     /* their lengths */
    Py_ssize_t n;
} strs_t;

typedef struct {
    uintptr_t id;
    int role;
    PyObject *name;                /* interned tag name */
    int nfetch;
    const char *fetch[MAX_FETCH];  /* attributes that fetch something */
    PyObject *fetch_str[MAX_FETCH];
    int fetch_srcset[MAX_FETCH];   /* the attribute holds a srcset list */
    const char *required;          /* attribute the element must carry, or NULL */
    int gateable;                  /* its held-back URL attributes are read */
} tagspec_t;

static struct {
    int ntags;
    tagspec_t tag[MAX_TAGS];
    uint8_t slot_of_id[256]; /* lexbor tag id (when < 256) -> slot, NO_TAG when none */
    strs_t skip_schemes, js_types, js_suffixes, data_types, data_suffixes, link_rels, gate_src, deferred_src;
    char url_openers[32];
    size_t sig_limit, sig_tail, title_max, link_text_max;
    PyObject *spec; /* keeps every borrowed string alive */
} R;
static int configured = 0;

/* interned strings */
static PyObject *s_src, *s_srcset, *s_script, *s_inline, *s_href, *s_imagesrcset, *s_empty, *s_text, *s_style,
    *s_link;
static PyObject *s_refs, *s_seen, *s_add, *s_add_css, *s_add_srcset, *s_visit, *s_attr_signatures,
    *s_scan_script, *s_signature_matches, *s_match, *s_end, *s_finditer, *s_set_title, *s_obs, *s_title, *s_rel_root, *s_rel_dir, *s_rel_host,
    *s_links, *s_max_links, *s_link_fn, *s_self_link;

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
    for (size_t i = 0; i < n; i++)
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

/* 1 when s[i:n] holds no whitespace, backslash or any of `stop`; 0 when it does; -1 on invalid UTF-8.
   *end is set to where a stop character was found (the scan stops there when stop_ends). */
static int clean_tail(const unsigned char *s, size_t n, size_t i, const char *stop, int stop_ends, size_t *end) {
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if (is_space(c) || c == '\\' || (stop && strchr(stop, c) && c)) {
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

/* --- page state -------------------------------------------------------------------------------------------- */
#define HOST_CACHE 8

typedef struct {
    PyObject *walk;
    PyObject *refs;      /* list */
    PyObject *seen;      /* set */
    PyObject *reference; /* the Reference class */
    PyObject *rel_root;  /* str or None */
    PyObject *rel_dir;
    PyObject *rel_host;
    const char *rel_root_s, *rel_dir_s;
    Py_ssize_t rel_root_n, rel_dir_n;
    const needles_t *needles;
    lnode *doc;
    unsigned char *buf; /* scratch */
    size_t cap;
    PyObject *hosts[HOST_CACHE]; /* recent host strings (ASCII) */
    PyObject *obs;               /* the Observation */
    int title_done;              /* obs.title is set (not empty) */
    int next_host;
    int links;                   /* collect <a href> links */
    PyObject *links_list;        /* obs.links */
    Py_ssize_t max_links;
    PyObject *self_link;         /* _Walk.self_link: where an href "#…" leads (str, or None) */
    const char *self_link_s;
    Py_ssize_t self_link_n;
    int gated_all;               /* _Walk.gated: markup inside a <template> (every reference is gated) */
    int encoded;                 /* _Walk.encoded: decoded embed code (references are encoded) */
    occs_t occ;                  /* where the anchor needles occur in the text last scanned */
    size_t dots_n;               /* the length of resolve_dots' URL in buf */
} page_t;


static int ensure(page_t *p, size_t n) {
    if (n <= p->cap) return 0;
    size_t cap = p->cap ? p->cap : 4096;
    while (cap < n) cap *= 2;
    unsigned char *b = PyMem_Realloc(p->buf, cap);
    if (!b) {
        PyErr_NoMemory();
        return -1;
    }
    p->buf = b;
    p->cap = cap;
    return 0;
}

/* Reference's slot offsets, in field order (set by set_reference) */
#define REF_FIELDS 9 /* url, host, element, attribute, rel, inline, declared, gated, encoded */
static PyTypeObject *ref_type = NULL;
static Py_ssize_t ref_offsets[REF_FIELDS];

/* set_reference(cls, field names): remember where cls keeps each field (slots of object type) */
static PyObject *py_set_reference(PyObject *self, PyObject *args) {
    PyObject *cls, *names;
    if (!PyArg_ParseTuple(args, "O!O!", &PyType_Type, &cls, &PyTuple_Type, &names)) return NULL;
    if (PyTuple_GET_SIZE(names) != REF_FIELDS) {
        PyErr_SetString(PyExc_ValueError, "Reference must have 9 fields");
        return NULL;
    }
    PyTypeObject *t = (PyTypeObject *)cls;
    if (t->tp_dictoffset != 0 || t->tp_itemsize != 0) {
        PyErr_SetString(PyExc_ValueError, "Reference must use __slots__");
        return NULL;
    }
    for (int i = 0; i < REF_FIELDS; i++) {
        PyObject *d = PyObject_GetAttr(cls, PyTuple_GET_ITEM(names, i));
        if (!d) return NULL;
        if (!Py_IS_TYPE(d, &PyMemberDescr_Type) || ((PyMemberDescrObject *)d)->d_member->type != T_OBJECT_EX) {
            Py_DECREF(d);
            PyErr_SetString(PyExc_ValueError, "Reference fields must be object slots");
            return NULL;
        }
        ref_offsets[i] = ((PyMemberDescrObject *)d)->d_member->offset;
        Py_DECREF(d);
    }
    Py_XDECREF(ref_type);
    Py_INCREF(cls);
    ref_type = t;
    Py_RETURN_NONE;
}

static PyObject *decode(const unsigned char *s, size_t n) { return PyUnicode_DecodeUTF8((const char *)s, n, "replace"); }

/* Calls walk.add(raw, element, attribute, rel, inline, gated) with raw decoded as selectolax does. */
static int py_add(page_t *p, const unsigned char *raw, size_t n, PyObject *element, PyObject *attribute,
                  PyObject *rel, int inline_, int gated) {
    PyObject *s = decode(raw, n);
    if (!s) return -1;
    PyObject *r = PyObject_CallMethodObjArgs(p->walk, s_add, s, element, attribute, rel, inline_ ? Py_True : Py_False,
                                             gated ? Py_True : Py_False, NULL);
    Py_DECREF(s);
    if (!r) return -1;
    Py_DECREF(r);
    return 0;
}

/* The reference for an absolute URL whose host is url[hs:he] (ASCII, lower-cased here, trailing dots
   dropped) or, when host is given, that host. Dedups on (url, element, attribute, gated, encoded) as
   _Walk.add does. */
static int emit(page_t *p, const unsigned char *url, size_t n, size_t hs, size_t he, PyObject *host,
                PyObject *element, PyObject *attribute, PyObject *rel, int inline_, int gated) {
    PyObject *u = PyUnicode_DecodeUTF8((const char *)url, n, "strict");
    if (!u) return -1;
    PyObject *enc = p->encoded ? Py_True : Py_False;
    PyObject *key = PyTuple_Pack(5, u, element, attribute, gated ? Py_True : Py_False, enc);
    if (!key) {
        Py_DECREF(u);
        return -1;
    }
    Py_ssize_t before = PySet_GET_SIZE(p->seen); /* one lookup: adding an element it holds changes nothing */
    int rc = PySet_Add(p->seen, key);
    Py_DECREF(key);
    if (rc < 0 || PySet_GET_SIZE(p->seen) == before) {
        Py_DECREF(u);
        return rc;
    }
    PyObject *h;
    if (host) {
        h = host;
        Py_INCREF(h);
    } else {
        while (he > hs && url[he - 1] == '.') he--;
        char small[256];
        char *hb = (he - hs) <= sizeof small ? small : PyMem_Malloc(he - hs);
        if (!hb) {
            Py_DECREF(u);
            PyErr_NoMemory();
            return -1;
        }
        for (size_t i = hs; i < he; i++) hb[i - hs] = (char)lower(url[i]);
        h = NULL;
        size_t hl = he - hs;
        for (int k = 0; k < HOST_CACHE && !h; k++) /* pages name few hosts: reuse their strings */
            if (p->hosts[k] && (size_t)PyUnicode_GET_LENGTH(p->hosts[k]) == hl &&
                memcmp(PyUnicode_DATA(p->hosts[k]), hb, hl) == 0) {
                h = p->hosts[k];
                Py_INCREF(h);
            }
        if (!h) {
            h = PyUnicode_FromStringAndSize(hb, hl);
            if (h) {
                Py_XSETREF(p->hosts[p->next_host], h);
                Py_INCREF(h);
                p->next_host = (p->next_host + 1) % HOST_CACHE;
            }
        }
        if (hb != small) PyMem_Free(hb);
        if (!h) {
            Py_DECREF(u);
            return -1;
        }
    }
    PyObject *args[REF_FIELDS] = {u, h, element, attribute, rel, inline_ ? Py_True : Py_False, Py_False,
                                  gated ? Py_True : Py_False, enc};
    PyObject *ref;
    if (ref_type == (PyTypeObject *)p->reference) {
        /* the slots of Reference, filled directly (what its dataclass __init__ does, without the call) */
        ref = ref_type->tp_alloc(ref_type, 0);
        if (ref)
            for (int i = 0; i < REF_FIELDS; i++) {
                Py_INCREF(args[i]);
                *(PyObject **)((char *)ref + ref_offsets[i]) = args[i];
            }
    } else {
        ref = PyObject_Vectorcall(p->reference, args, REF_FIELDS, NULL);
    }
    Py_DECREF(u);
    Py_DECREF(h);
    if (!ref) return -1;
    rc = PyList_Append(p->refs, ref);
    Py_DECREF(ref);
    return rc;
}

/* _PLAIN_ABSOLUTE.fullmatch: https?://[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::\d{1,4})?(?:[/?#][^\s\\]*)?
   1 yes (host at [*hs, *he)), 0 no, -1 undecidable here (non-ASCII digits or invalid UTF-8). */
static int plain_absolute(const unsigned char *s, size_t n, size_t *hs, size_t *he) {
    size_t i;
    if (starts(s, n, "https://")) i = 8;
    else if (starts(s, n, "http://")) i = 7;
    else return 0;
    if (i >= n || !is_alnum(s[i])) return 0;
    size_t j = i + 1;
    while (j < n && (is_alnum(s[j]) || s[j] == '.' || s[j] == '-')) j++;
    if (!is_alnum(s[j - 1])) return 0; /* the remainder cannot start inside the host run */
    *hs = i;
    *he = j;
    if (j == n) return 1;
    if (s[j] == ':') {
        size_t k = j + 1;
        while (k < n && is_digit(s[k]) && k - j <= 4) k++;
        if (k < n && s[k] >= 0x80) return -1; /* \d is Unicode */
        if (k == j + 1 || k - j > 5) return 0;
        if (k < n && is_digit(s[k])) return 0;
        j = k;
        if (j == n) return 1;
    }
    if (s[j] != '/' && s[j] != '?' && s[j] != '#') return 0;
    size_t end;
    int r = clean_tail(s, n, j + 1, NULL, 0, &end);
    return r;
}

static int in_strs(const strs_t *t, const unsigned char *s, size_t n, int prefix, int fold) {
    for (Py_ssize_t i = 0; i < t->n; i++) {
        size_t m = t->len[i];
        if (prefix ? n < m : n != m) continue;
        if (fold ? istarts(s, m, t->c[i]) : memcmp(s, t->c[i], m) == 0) return 1;
    }
    return 0;
}

/* s ends with one of t's strings (ASCII case folded) */
static int ends_in(const strs_t *t, const unsigned char *s, size_t n) {
    for (Py_ssize_t i = 0; i < t->n; i++) {
        size_t m = t->len[i];
        if (n >= m && istarts(s + n - m, m, t->c[i])) return 1;
    }
    return 0;
}

enum { RES_NONE, RES_OK, RES_PYTHON };

/* urljoin's merge of a relative path s[0:q] that has dot segments with the base's directory, then its
   dot-segment removal (s[q:n], the query and fragment, kept as they are), into p->buf (p->dots_n bytes).
   Only on a base whose directory (rel_dir) has no empty or dot segment; RES_PYTHON otherwise. */
static int resolve_dots(page_t *p, const unsigned char *s, size_t n, size_t q) {
    const unsigned char *dir = (const unsigned char *)p->rel_dir_s + p->rel_root_n;
    size_t dn = (size_t)p->rel_dir_n - (size_t)p->rel_root_n; /* "/", "/a/b/" */
    if (dn == 0 || dir[0] != '/' || dir[dn - 1] != '/') return RES_PYTHON;
    size_t nseg = 2; /* the segments: the base's (a relative path only) and the path's, as (start, length) */
    for (size_t i = 0; i < dn; i++) nseg += dir[i] == '/';
    for (size_t i = 0; i < q; i++) nseg += s[i] == '/';
    const unsigned char **sp = PyMem_Malloc(nseg * (sizeof *sp + sizeof(size_t)));
    if (!sp) {
        PyErr_NoMemory();
        return -1;
    }
    size_t *sl = (size_t *)(sp + nseg), k = 0;
    int absolute = s[0] == '/';
    if (!absolute) {
        /* bpath.split("/") less its last segment: "" then the directory's segments (none empty or dots) */
        sp[k] = dir, sl[k++] = 0;
        for (size_t i = 1, start = 1; i < dn; i++)
            if (dir[i] == '/') {
                size_t len = i - start;
                if (len == 0 || (len == 1 && dir[start] == '.') || (len == 2 && dir[start] == '.' && dir[start + 1] == '.')) {
                    PyMem_Free(sp);
                    return RES_PYTHON;
                }
                sp[k] = dir + start, sl[k++] = len;
                start = i + 1;
            }
    }
    for (size_t i = 0, start = 0; i <= q; i++)
        if (i == q || s[i] == '/') {
            sp[k] = s + start, sl[k++] = i - start;
            start = i + 1;
        }
    /* a relative path: empty segments other than the first and the last are dropped (segments[1:-1]) */
    size_t m = k;
    if (!absolute) {
        m = 1;
        for (size_t j = 1; j < k; j++)
            if (sl[j] || j == k - 1) sp[m] = sp[j], sl[m++] = sl[j];
    }
    /* dot-segment removal, in place: ".." drops the last kept segment, "." is skipped */
    size_t r = 0;
    for (size_t j = 0; j < m; j++) {
        if (sl[j] == 2 && sp[j][0] == '.' && sp[j][1] == '.') {
            if (r) r--;
        } else if (!(sl[j] == 1 && sp[j][0] == '.')) {
            sp[r] = sp[j], sl[r++] = sl[j];
        }
    }
    int trailing = (sl[m - 1] == 1 && sp[m - 1][0] == '.') || (sl[m - 1] == 2 && sp[m - 1][0] == '.' && sp[m - 1][1] == '.');
    size_t total = p->rel_root_n + 1 + (n - q) + 1;
    for (size_t j = 0; j < r; j++) total += sl[j] + 1;
    if (ensure(p, total) < 0) {
        PyMem_Free(sp);
        return -1;
    }
    unsigned char *o = p->buf;
    memcpy(o, p->rel_root_s, p->rel_root_n);
    size_t w = p->rel_root_n, path0 = w;
    /* "/".join(resolved + [""] if trailing) or "/" */
    for (size_t j = 0; j < r; j++) {
        if (j) o[w++] = '/';
        memcpy(o + w, sp[j], sl[j]);
        w += sl[j];
    }
    if (trailing) o[w++] = '/';
    if (w == path0) o[w++] = '/';
    /* urlunparse puts "/" before a path that does not start with one */
    if (o[path0] != '/') {
        memmove(o + path0 + 1, o + path0, w - path0);
        o[path0] = '/';
        w++;
    }
    memcpy(o + w, s + q, n - q);
    p->dots_n = w + (n - q);
    PyMem_Free(sp);
    return RES_OK;
}

/* Resolves an ASCII value without surrounding whitespace against the page's base, as _absolute does for
   the cases it can prove: plain absolute http(s) URLs, protocol-relative ones with a plain host, relative
   ones without dot segments, empty query or fragment markers. RES_OK: the URL is (*u, *un) with its host
   at [*hs, *he) or, when *rel_host, the base's host. RES_PYTHON: let _absolute decide. */
static int resolve(page_t *p, const unsigned char *s, size_t n, const unsigned char **u, size_t *un, size_t *hs,
                   size_t *he, int *rel_host) {
    *rel_host = 0;
    if (starts(s, n, "https://") || starts(s, n, "http://")) {
        if (plain_absolute(s, n, hs, he) != 1) return RES_PYTHON;
        *u = s;
        *un = n;
        return RES_OK;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c <= 0x20 || c >= 0x7f || c == '\\' || c == ':' || c == ';') return RES_PYTHON;
    }
    if (n >= 2 && s[0] == '/' && s[1] == '/') {
        /* protocol-relative: base scheme + "://" + host; plain hosts without port only */
        if (!p->rel_root_s) return RES_PYTHON;
        size_t i = 0;
        while (i < n && s[i] == '/') i++;
        size_t j = i;
        while (j < n && (is_alnum(s[j]) || s[j] == '.' || s[j] == '-')) j++;
        if (j == i || (j < n && s[j] != '/' && s[j] != '?' && s[j] != '#')) return RES_PYTHON;
        const char *colon = memchr(p->rel_root_s, ':', p->rel_root_n);
        size_t sl = colon - p->rel_root_s;
        if (ensure(p, sl + 3 + (n - i)) < 0) return -1;
        memcpy(p->buf, p->rel_root_s, sl);
        memcpy(p->buf + sl, "://", 3);
        memcpy(p->buf + sl + 3, s + i, n - i);
        size_t hs2 = sl + 3, he2 = sl + 3 + (j - i);
        size_t he3 = he2;
        while (he3 > hs2 && p->buf[he3 - 1] == '.') he3--;
        if (he3 == hs2) return RES_PYTHON;
        *u = p->buf;
        *un = sl + 3 + (n - i);
        *hs = hs2;
        *he = he2;
        return RES_OK;
    }
    if (!p->rel_root_s || s[0] == '?' || s[0] == '#') return RES_PYTHON;
    /* relative: no dot segments; empty query or fragment markers are left to Python */
    size_t hash = n, q;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '#') { hash = i; break; }
    q = hash;
    for (size_t i = 0; i < hash; i++)
        if (s[i] == '?') { q = i; break; }
    if ((hash < n && hash + 1 == n) || (q < hash && q + 1 == hash)) return RES_PYTHON;
    size_t seg = 0;
    for (size_t i = 0; i <= q; i++) {
        if (i == q || s[i] == '/') {
            size_t len = i - seg;
            if ((len == 1 && s[seg] == '.') || (len == 2 && s[seg] == '.' && s[seg + 1] == '.')) {
                int r = resolve_dots(p, s, n, q);
                if (r != RES_OK) return r;
                *u = p->buf;
                *un = p->dots_n;
                *hs = *he = 0;
                *rel_host = 1;
                return RES_OK;
            }
            seg = i + 1;
        }
    }
    size_t total;
    if (s[0] == '/') {
        total = p->rel_root_n + n;
        if (ensure(p, total) < 0) return -1;
        memcpy(p->buf, p->rel_root_s, p->rel_root_n);
        memcpy(p->buf + p->rel_root_n, s, n);
    } else {
        if (ensure(p, p->rel_dir_n + n) < 0) return -1;
        memcpy(p->buf, p->rel_dir_s, p->rel_dir_n);
        size_t o = p->rel_dir_n;
        /* drop empty segments of the path except the last one */
        size_t start = 0;
        for (size_t i = 0; i <= q; i++) {
            if (i == q || s[i] == '/') {
                size_t len = i - start;
                if (i == q) {
                    memcpy(p->buf + o, s + start, len);
                    o += len;
                } else if (len) {
                    memcpy(p->buf + o, s + start, len);
                    o += len;
                    p->buf[o++] = '/';
                }
                start = i + 1;
            }
        }
        memcpy(p->buf + o, s + q, n - q);
        total = o + (n - q);
    }
    *u = p->buf;
    *un = total;
    *hs = *he = 0;
    *rel_host = 1;
    return RES_OK;
}

/* walk.add() for one raw value. */
static int add(page_t *p, const unsigned char *raw, size_t n, PyObject *element, PyObject *attribute, PyObject *rel,
               int inline_, int gated) {
    if (!raw || n == 0) return 0;
    gated |= p->gated_all;
    size_t hs, he;
    if (starts(raw, n, "https://") || starts(raw, n, "http://")) {
        int r = plain_absolute(raw, n, &hs, &he);
        if (r == 1) return emit(p, raw, n, hs, he, NULL, element, attribute, rel, inline_, gated);
        return py_add(p, raw, n, element, attribute, rel, inline_, gated);
    }
    /* in decoded embed code only absolute URLs count: Python tells the rare other ones apart */
    if (p->encoded || !is_ascii(raw, n)) return py_add(p, raw, n, element, attribute, rel, inline_, gated);
    size_t a = 0, b = n;
    while (a < b && is_space(raw[a])) a++;
    while (b > a && is_space(raw[b - 1])) b--;
    const unsigned char *s = raw + a;
    n = b - a;
    if (n == 0) return 0;
    {
        unsigned char head[16];
        size_t m = n < 11 ? n : 11;
        for (size_t i = 0; i < m; i++) head[i] = lower(s[i]);
        if (in_strs(&R.skip_schemes, head, m, 1, 0)) return 0;
    }
    const unsigned char *u;
    size_t un;
    int rel_host;
    int r = resolve(p, s, n, &u, &un, &hs, &he, &rel_host);
    if (r < 0) return -1;
    if (r != RES_OK) return py_add(p, raw, b, element, attribute, rel, inline_, gated);
    return emit(p, u, un, hs, he, rel_host ? p->rel_host : NULL, element, attribute, rel, inline_, gated);
}

/* the text of an element with whitespace runs collapsed to one space and cut at `cap` characters (code
   points), as " ".join(text.split())[:cap] does; `out` holds up to 4 * cap bytes. 0 when the text is not
   valid UTF-8 (Python decides) */
static int collapse(const unsigned char *t, size_t n, char *out, size_t cap, size_t *o_len) {
    size_t o = 0, chars = 0, i = 0;
    while (i < n && chars < cap) {
        uint32_t cp;
        int k;
        /* skip a whitespace run */
        while (i < n) {
            if (t[i] < 0x80) {
                if (!is_space(t[i])) break;
                i++;
                continue;
            }
            k = utf8_at(t, n, i, &cp);
            if (!k) return 0;
            if (!cp_space(cp)) break;
            i += k;
        }
        if (i >= n) break;
        if (chars) {
            out[o++] = ' ';
            if (++chars == cap) break;
        }
        /* copy a word */
        while (i < n && chars < cap) {
            if (t[i] < 0x80) {
                if (is_space(t[i])) break;
                out[o++] = (char)t[i++];
                chars++;
                continue;
            }
            k = utf8_at(t, n, i, &cp);
            if (!k) return 0;
            if (cp_space(cp)) break;
            memcpy(out + o, t + i, k);
            o += k;
            i += k;
            chars++;
        }
    }
    /* the rest must be valid too: Python would have replaced an invalid byte (and its text differs) */
    if (i < n && !utf8_valid(t + i, n - i)) return 0;
    *o_len = o;
    return 1;
}

/* --- attributes --------------------------------------------------------------------------------------------- */
#define MAX_ATTRS 48
typedef struct {
    const unsigned char *name, *value;
    size_t nlen, vlen;
} attr_t;

typedef struct {
    attr_t a[MAX_ATTRS];
    int n;
    int overflow;
    int dup;
} attrs_t;

static void read_attrs(lnode *el, attrs_t *at) {
    at->n = at->overflow = at->dup = 0;
    for (lattr *x = f_first_attr(el); x; x = f_next_attr(x)) {
        if (at->n == MAX_ATTRS) {
            at->overflow = 1;
            return;
        }
        attr_t *a = &at->a[at->n];
        a->name = f_attr_qname(x, &a->nlen);
        a->vlen = 0;
        a->value = f_attr_value(x, &a->vlen);
        for (int i = 0; i < at->n; i++)
            if (at->a[i].nlen == a->nlen && memcmp(at->a[i].name, a->name, a->nlen) == 0) at->dup = 1;
        at->n++;
    }
}

/* the value of the last attribute named `name` (dict semantics); NULL when absent or valueless */
static const attr_t *get(const attrs_t *at, const char *name) {
    size_t m = strlen(name);
    for (int i = at->n - 1; i >= 0; i--)
        if (at->a[i].nlen == m && memcmp(at->a[i].name, name, m) == 0) return at->a[i].value ? &at->a[i] : NULL;
    return NULL;
}

static int has(const attrs_t *at, const char *name) {
    size_t m = strlen(name);
    for (int i = 0; i < at->n; i++)
        if (at->a[i].nlen == m && memcmp(at->a[i].name, name, m) == 0) return 1;
    return 0;
}

static int el_has(lnode *el, const char *name) {
    size_t m = strlen(name);
    for (lattr *x = f_first_attr(el); x; x = f_next_attr(x)) {
        size_t nl = 0;
        const unsigned char *nm = f_attr_qname(x, &nl);
        if (nl == m && memcmp(nm, name, m) == 0) return 1;
    }
    return 0;
}

static int has_url_paren(const unsigned char *s, size_t n);

/* the last style attribute (dict semantics) holds "url(" in any case */
static int el_style_url(lnode *el) {
    const unsigned char *v = NULL;
    size_t vl = 0;
    for (lattr *x = f_first_attr(el); x; x = f_next_attr(x)) {
        size_t nl = 0, l = 0;
        const unsigned char *nm = f_attr_qname(x, &nl);
        if (nl == 5 && memcmp(nm, "style", 5) == 0) {
            v = f_attr_value(x, &l);
            vl = v ? l : 0;
        }
    }
    return v && vl && has_url_paren(v, vl);
}

static int truthy(const attr_t *a) { return a && a->value && a->vlen > 0; }

static PyObject *attrs_dict(lnode *el) {
    PyObject *d = PyDict_New();
    if (!d) return NULL;
    for (lattr *x = f_first_attr(el); x; x = f_next_attr(x)) {
        size_t nl = 0, vl = 0;
        const unsigned char *nm = f_attr_qname(x, &nl);
        const unsigned char *v = f_attr_value(x, &vl);
        PyObject *k = decode(nm, nl);
        PyObject *val = v ? decode(v, vl) : (Py_INCREF(Py_None), Py_None);
        if (!k || !val || PyDict_SetItem(d, k, val) < 0) {
            Py_XDECREF(k);
            Py_XDECREF(val);
            Py_DECREF(d);
            return NULL;
        }
        Py_DECREF(k);
        Py_DECREF(val);
    }
    return d;
}

/* the element's text (its descendant text nodes), as bytes owned by the caller via *owned */
static unsigned char *text_of(page_t *p, lnode *el, size_t *n) {
    *n = 0;
    unsigned char *t = f_text_content(el, n);
    if (!t) *n = 0;
    return t;
}

static void text_free(page_t *p, unsigned char *t) {
    if (t) f_destroy_text(p->doc, t);
}

/* the element's text as a str, like selectolax's node.text() */
static PyObject *text_str(page_t *p, lnode *el) {
    size_t n;
    unsigned char *t = text_of(p, el, &n);
    PyObject *s = t ? decode(t, n) : PyUnicode_FromStringAndSize("", 0);
    text_free(p, t);
    return s;
}

/* A zero-argument callable returning `s` (the text() argument of _Walk.visit). */
static PyObject *text_callable(PyObject *s) { return PyObject_GetAttrString(s, "__str__"); }

static int py_visit(page_t *p, lnode *el, int slot) {
    PyObject *name;
    if (slot >= 0) {
        name = R.tag[slot].name;
        Py_INCREF(name);
    } else {
        size_t n = 0;
        const unsigned char *q = f_element_qname(el, &n);
        name = decode(q ? q : (const unsigned char *)"", q ? n : 0);
        if (!name) return -1;
    }
    PyObject *d = attrs_dict(el);
    PyObject *txt = d ? text_str(p, el) : NULL;
    PyObject *fn = txt ? text_callable(txt) : NULL;
    PyObject *r = fn ? PyObject_CallMethodObjArgs(p->walk, s_visit, name, d, fn, NULL) : NULL;
    Py_DECREF(name);
    Py_XDECREF(d);
    Py_XDECREF(txt);
    Py_XDECREF(fn);
    if (!r) return -1;
    Py_DECREF(r);
    return 0;
}

/* _Walk.set_title: the first title with text, whitespace runs collapsed, cut at 500 characters */
static int title(page_t *p, lnode *el) {
    if (p->title_done) return 0;
    size_t n, o;
    unsigned char *t = text_of(p, el, &n);
    if (!t) n = 0;
    PyObject *r;
    char *out = PyMem_Malloc(4 * R.title_max + 1);
    if (!out) {
        text_free(p, t);
        PyErr_NoMemory();
        return -1;
    }
    if (collapse(t ? t : (const unsigned char *)"", n, out, R.title_max, &o)) {
        text_free(p, t);
        PyObject *str = PyUnicode_DecodeUTF8(out, o, "strict");
        PyMem_Free(out);
        if (!str) return -1;
        int rc = PyObject_SetAttr(p->obs, s_title, str);
        Py_DECREF(str);
        if (rc < 0) return -1;
        p->title_done = o > 0;
        return 0;
    }
    PyMem_Free(out);
    PyObject *str = decode(t, n);
    text_free(p, t);
    r = str ? PyObject_CallMethodObjArgs(p->walk, s_set_title, str, NULL) : NULL;
    Py_XDECREF(str);
    if (!r) return -1;
    Py_DECREF(r);
    PyObject *now = PyObject_GetAttr(p->obs, s_title);
    if (!now) return -1;
    p->title_done = PyObject_IsTrue(now) == 1;
    Py_DECREF(now);
    return 0;
}

/* _Walk.link for an <a>/<area> element's href: its absolute http(s) URL without fragment and its text */
static int add_link(page_t *p, lnode *el, const attr_t *href) {
    if (PyList_GET_SIZE(p->links_list) >= p->max_links) return 0;
    const unsigned char *raw = href->value;
    size_t n = href->vlen;
    size_t a = 0, b = n;
    while (a < b && is_space(raw[a])) a++;
    while (b > a && is_space(raw[b - 1])) b--;
    const unsigned char *u = NULL, *s = raw + a;
    size_t un = 0, hs, he, sn = b - a;
    int rel_host, r = RES_PYTHON;
    /* non-ASCII hrefs only when absolute: plain_absolute checks their tail (no Unicode whitespace, valid
       UTF-8), so Python's strip() would have removed nothing more than the ASCII trim here */
    if (sn && (is_ascii(raw, n) || starts(s, sn, "https://") || starts(s, sn, "http://"))) {
        /* a scheme other than http(s) (mailto:, tel:, javascript: …): urljoin keeps the href, no link */
        const unsigned char *colon = memchr(s, ':', sn);
        if (colon && colon > s && is_alpha(s[0])) {
            size_t k = 1, sl = colon - s;
            while (k < sl && (is_alnum(s[k]) || s[k] == '+' || s[k] == '-' || s[k] == '.')) k++;
            if (k == sl && !ieq(s, sl, "http") && !ieq(s, sl, "https")) return 0;
        }
        if (s[0] == '#') {
            /* the page itself: its base URL without fragment (worked out once by _Walk) */
            if (!p->self_link_s) return 0;
            u = (const unsigned char *)p->self_link_s;
            un = (size_t)p->self_link_n;
            r = RES_OK;
        } else {
            r = resolve(p, s, sn, &u, &un, &hs, &he, &rel_host);
            if (r < 0) return -1;
        }
    }
    size_t tn, o = 0;
    unsigned char *t = text_of(p, el, &tn);
    if (!t) tn = 0;
    char small[1024];
    char *out = 4 * R.link_text_max <= sizeof small ? small : PyMem_Malloc(4 * R.link_text_max);
    if (!out) {
        text_free(p, t);
        PyErr_NoMemory();
        return -1;
    }
    if (r == RES_OK && collapse(t ? t : (const unsigned char *)"", tn, out, R.link_text_max, &o)) {
        text_free(p, t);
        const unsigned char *hash = memchr(u, '#', un);
        PyObject *url = PyUnicode_FromStringAndSize((const char *)u, (Py_ssize_t)(hash ? (size_t)(hash - u) : un));
        PyObject *txt = url ? PyUnicode_DecodeUTF8(out, (Py_ssize_t)o, "strict") : NULL;
        if (out != small) PyMem_Free(out);
        PyObject *item = txt ? PyTuple_Pack(2, url, txt) : NULL;
        Py_XDECREF(url);
        Py_XDECREF(txt);
        if (!item) return -1;
        int rc = PyList_Append(p->links_list, item);
        Py_DECREF(item);
        return rc;
    }
    if (out != small) PyMem_Free(out);
    /* rare: Python resolves the href (non-ASCII, odd URLs) or collapses the text (invalid UTF-8) */
    PyObject *h = decode(raw, n);
    PyObject *txt = h ? (t ? decode(t, tn) : PyUnicode_FromStringAndSize("", 0)) : NULL;
    text_free(p, t);
    PyObject *res = txt ? PyObject_CallMethodObjArgs(p->walk, s_link_fn, h, txt, NULL) : NULL;
    Py_XDECREF(h);
    Py_XDECREF(txt);
    if (!res) return -1;
    Py_DECREF(res);
    return 0;
}

/* --- srcset ------------------------------------------------------------------------------------------------- */
static int add_srcset(page_t *p, const attr_t *v, PyObject *element, PyObject *attribute, PyObject *rel) {
    const unsigned char *s = v->value;
    size_t n = v->vlen;
    if (is_ascii(s, n) && memchr(s, '(', n)) {
        /* _srcset_slow: descriptors may hold commas inside parentheses */
        size_t i = 0;
        while (i < n) {
            while (i < n && (is_space(s[i]) || s[i] == ',')) i++;
            size_t start = i;
            while (i < n && !is_space(s[i])) i++;
            size_t end = i;
            if (end > start && s[end - 1] == ',') {
                while (end > start && s[end - 1] == ',') end--;
            } else {
                int depth = 0;
                while (i < n && (s[i] != ',' || depth)) {
                    depth += s[i] == '(';
                    depth -= s[i] == ')' && depth > 0;
                    i++;
                }
            }
            if (end > start && add(p, s + start, end - start, element, attribute, rel, 0, 0) < 0) return -1;
        }
        return 0;
    }
    if (!is_ascii(s, n)) {
        PyObject *str = decode(s, n);
        if (!str) return -1;
        PyObject *r = PyObject_CallMethodObjArgs(p->walk, s_add_srcset, str, element, attribute, rel, NULL);
        Py_DECREF(str);
        if (!r) return -1;
        Py_DECREF(r);
        return 0;
    }
    /* _srcset's fast branch: tokens split on whitespace */
    int expect_url = 1;
    size_t i = 0;
    while (i < n) {
        while (i < n && is_space(s[i])) i++;
        if (i >= n) break;
        size_t a = i;
        while (i < n && !is_space(s[i])) i++;
        size_t b = i;
        if (expect_url) {
            while (a < b && s[a] == ',') a++;
            if (a == b) continue;
            if (s[b - 1] == ',') {
                while (b > a && s[b - 1] == ',') b--;
            } else {
                expect_url = 0;
            }
            if (b > a && add(p, s + a, b - a, element, attribute, rel, 0, 0) < 0) return -1;
        } else {
            const unsigned char *c = memchr(s + a, ',', b - a);
            if (c) {
                size_t ra = (c - s) + 1;
                expect_url = 1;
                if (ra < b) {
                    if (s[b - 1] == ',') {
                        size_t rb = b;
                        while (rb > ra && s[rb - 1] == ',') rb--;
                        if (add(p, s + ra, rb - ra, element, attribute, rel, 0, 0) < 0) return -1;
                    } else {
                        if (add(p, s + ra, b - ra, element, attribute, rel, 0, 0) < 0) return -1;
                        expect_url = 0;
                    }
                }
            }
        }
    }
    return 0;
}

/* --- scripts ------------------------------------------------------------------------------------------------ */
/* The signatures whose needles the scan found in text run here: each at its anchors' positions, or over
   the whole text; those that match go to _Walk.signature_matches([(signature index, matches)], gated). */
static int call_hits(page_t *p, const unsigned char *text, size_t n, const uint8_t *hit, int gated) {
    const needles_t *t = p->needles;
    int ascii = is_ascii(text, n), rc = -1;
    PyObject *str = NULL, *found = NULL;
    for (int i = 0; i < t->nsigs; i++) {
        if (!hit[i]) continue;
        size_t *starts;
        size_t count = anchor_starts(t, i, text, n, ascii, &p->occ, &starts);
        if (count == SIZE_MAX - 1) {
            PyErr_NoMemory();
            goto done;
        }
        if (count == 0) {
            PyMem_Free(starts);
            continue;
        }
        if (!str && !(str = PyUnicode_DecodeUTF8((const char *)text, n, "strict"))) {
            PyMem_Free(starts);
            goto done;
        }
        PyObject *matches = NULL;
        int r = regex_matches(PyTuple_GET_ITEM(t->regexes, i), str, starts, count, &matches);
        PyMem_Free(starts);
        PyObject *item = matches ? Py_BuildValue("(iO)", i, matches) : NULL;
        Py_XDECREF(matches);
        if (r < 0 || (matches && (!item || ((!found && !(found = PyList_New(0))) || PyList_Append(found, item) < 0)))) {
            Py_XDECREF(item);
            goto done;
        }
        Py_XDECREF(item);
    }
    rc = 0;
    if (found) {
        PyObject *r = PyObject_CallMethodObjArgs(p->walk, s_signature_matches, found, gated ? Py_True : Py_False, NULL);
        if (!r) rc = -1;
        Py_XDECREF(r);
    }
done:
    Py_XDECREF(str);
    Py_XDECREF(found);
    return rc;
}

/* 1 when the needle prefilter (or a needle-less / lower-case signature) says Python must look at text;
   where the anchor needles occur goes to occ */
static int needs_python(const needles_t *t, const unsigned char *text, size_t n, uint8_t *hit, occs_t *occ) {
    memset(hit, 0, t->nsigs);
    occ->n = 0;
    if (t->always || t->lower) return 2;
    return needle_scan(t, text, n, hit, occ) > 0;
}

static int py_scan_script(page_t *p, const unsigned char *code, size_t n, int gated) {
    PyObject *s = decode(code, n);
    PyObject *r = s ? PyObject_CallMethodObjArgs(p->walk, s_scan_script, s, gated ? Py_True : Py_False, NULL) : NULL;
    Py_XDECREF(s);
    if (!r) return -1;
    Py_DECREF(r);
    return 0;
}

#define SIG_SCAN_LIMIT R.sig_limit
#define SIG_TAIL R.sig_tail

/* _scan_script for valid UTF-8 code: URL literals, then the signatures on (a window of) the code */
static int scan_script(page_t *p, const unsigned char *code0, size_t n0, int gated, uint8_t *hit) {
    size_t cont; /* continuation bytes: the code has n - cont code points, before and after "\\/" -> "/" */
    if (!utf8_valid_count(code0, n0, &cont)) return py_scan_script(p, code0, n0, gated);
    const unsigned char *code = code0;
    size_t n = n0;
    unsigned char *replaced = NULL;
    /* Python scans for URLs when "//" or "\\/\\/" occurs, after replacing "\\/" by "/". Without any "\\/"
       (backslashes are rarer than slashes) the scan can just run: it finds nothing unless "//" occurs. */
    int dslash = 0, bslash = 0, bdslash = 0;
    for (const unsigned char *f = memchr(code0, '\\', n0); f && f + 1 < code0 + n0;
         f = memchr(f + 1, '\\', code0 + n0 - f - 1))
        if (f[1] == '/') {
            bslash = 1;
            break;
        }
    if (!bslash) dslash = 1;
    for (const unsigned char *f = bslash ? memchr(code0, '/', n0) : NULL; f;
         f = memchr(f + 1, '/', code0 + n0 - f - 1)) {
        size_t i = f - code0;
        if (i + 1 < n0 && code0[i + 1] == '/') dslash = 1;
        if (i > 0 && code0[i - 1] == '\\') {
            bslash = 1;
            if (i >= 3 && code0[i - 2] == '/' && code0[i - 3] == '\\') bdslash = 1;
        }
        if (dslash && bdslash) break;
        if (f + 1 >= code0 + n0) break;
    }
    if (dslash || bdslash) {
        if (bslash) {
            replaced = PyMem_Malloc(n0 ? n0 : 1);
            if (!replaced) {
                PyErr_NoMemory();
                return -1;
            }
            size_t o = 0;
            for (size_t i = 0; i < n0;) {
                if (code0[i] == '\\' && i + 1 < n0 && code0[i + 1] == '/') {
                    replaced[o++] = '/';
                    i += 2;
                } else {
                    replaced[o++] = code0[i++];
                }
            }
            code = replaced;
            n = o;
        }
        /* _JS_URL: //[a-zA-Z0-9][a-zA-Z0-9.-]*\.[a-zA-Z]{2,63}(?::\d{2,5})?(?:/[^\s"'<>`\\)]*)? */
        size_t pos = 0;
        while (pos + 1 < n) {
            const unsigned char *f = memchr(code + pos, '/', n - pos - 1);
            if (!f) break;
            if (f[1] != '/') {
                pos = f - code + 1;
                continue;
            }
            size_t st = f - code;
            size_t i = st + 2;
            if (i >= n || !is_alnum(code[i])) {
                pos = st + 1;
                continue;
            }
            size_t j = i + 1;
            while (j < n && (is_alnum(code[j]) || code[j] == '.' || code[j] == '-')) j++;
            size_t e = 0;
            int found = 0;
            for (size_t k = j; k-- > i + 1;) {
                if (code[k] != '.') continue;
                size_t l = k + 1;
                while (l < n && is_alpha(code[l]) && l - (k + 1) < 63) l++;
                if (l - (k + 1) >= 2) {
                    e = l;
                    found = 1;
                    break;
                }
            }
            if (!found) {
                pos = st + 1;
                continue;
            }
            if (e < n && code[e] == ':') {
                size_t d = e + 1;
                while (d < n && is_digit(code[d]) && d - (e + 1) < 5) d++;
                if (d < n && code[d] >= 0x80 && d - (e + 1) < 5) goto python; /* \d is Unicode */
                if (d - (e + 1) >= 2) e = d;
            }
            if (e < n && code[e] == '/') {
                size_t end;
                int r = clean_tail(code, n, e + 1, "\"'<>`)", 1, &end);
                if (r < 0) goto python;
                e = end;
            }
            if (st > 0 && code[st - 1] && strchr(R.url_openers, code[st - 1])) {
                int http = st >= 5 && istarts(code + st - 5, 5, "http:");
                size_t m = e - st;
                size_t pre = http ? 5 : 6;
                if (ensure(p, pre + m) < 0) goto fail;
                memcpy(p->buf, http ? "http:" : "https:", pre);
                memcpy(p->buf + pre, code + st, m);
                /* copy out of p->buf: add() may reuse it */
                unsigned char small[512];
                unsigned char *u = pre + m <= sizeof small ? small : PyMem_Malloc(pre + m);
                if (!u) {
                    PyErr_NoMemory();
                    goto fail;
                }
                memcpy(u, p->buf, pre + m);
                int rc = add(p, u, pre + m, s_script, s_inline, s_empty, 1, gated);
                if (u != small) PyMem_Free(u);
                if (rc < 0) goto fail;
            }
            pos = e;
        }
    }
    {
        /* the signature window: the whole code, or its first 16384 and last 8192 code points */
        size_t cps = n - cont;
        const unsigned char *text = code;
        size_t tn = n;
        unsigned char *win = NULL;
        if (cps > SIG_SCAN_LIMIT) {
            size_t head = 0, c = 0;
            if (!cont) c = head = SIG_SCAN_LIMIT - SIG_TAIL; /* ASCII: code points are bytes */
            while (head < n && c <= SIG_SCAN_LIMIT - SIG_TAIL) {
                if ((code[head] & 0xc0) != 0x80) {
                    if (c == SIG_SCAN_LIMIT - SIG_TAIL) break;
                    c++;
                }
                head++;
            }
            size_t tail = n, t = 0;
            if (!cont) tail = n - SIG_TAIL, t = SIG_TAIL;
            while (tail > 0 && t < SIG_TAIL) {
                tail--;
                if ((code[tail] & 0xc0) != 0x80) t++;
            }
            win = PyMem_Malloc(head + 1 + (n - tail));
            if (!win) {
                PyErr_NoMemory();
                goto fail;
            }
            memcpy(win, code, head);
            win[head] = '\n';
            memcpy(win + head + 1, code + tail, n - tail);
            text = win;
            tn = head + 1 + (n - tail);
        }
        int need = needs_python(p->needles, text, tn, hit, &p->occ);
        int rc = 0;
        if (need == 2) {
            PyObject *s = PyUnicode_DecodeUTF8((const char *)text, tn, "strict");
            PyObject *tgt = s ? PyObject_CallMethod(p->walk, "target", "O", gated ? Py_True : Py_False) : NULL;
            PyObject *r = NULL;
            if (tgt) {
                PyObject *mod = PyImport_ImportModule("crawler.observe");
                PyObject *sigs = PyObject_GetAttrString(p->walk, "sigs");
                r = (mod && sigs) ? PyObject_CallMethod(mod, "_match_signatures", "OOO", s, sigs, tgt) : NULL;
                Py_XDECREF(mod);
                Py_XDECREF(sigs);
            }
            Py_XDECREF(s);
            Py_XDECREF(tgt);
            if (!r) rc = -1;
            Py_XDECREF(r);
        } else if (need) {
            rc = call_hits(p, text, tn, hit, gated);
        }
        PyMem_Free(win);
        if (rc < 0) goto fail;
    }
    PyMem_Free(replaced);
    return 0;
python:
    PyMem_Free(replaced);
    return py_scan_script(p, code0, n0, gated);
fail:
    PyMem_Free(replaced);
    return -1;
}

enum { K_JS, K_DATA, K_GATED, K_UNKNOWN };

/* _script_kind for an ASCII type; K_UNKNOWN when Python must decide */
static int script_kind(const attr_t *t) {
    const unsigned char *s = t->value;
    size_t n = t->vlen;
    if (!is_ascii(s, n)) return K_UNKNOWN;
    const unsigned char *semi = memchr(s, ';', n);
    if (semi) n = semi - s;
    size_t a = 0, b = n;
    while (a < b && is_space(s[a])) a++;
    while (b > a && is_space(s[b - 1])) b--;
    s += a;
    n = b - a;
    if (n == 0 || in_strs(&R.js_types, s, n, 0, 1) || ends_in(&R.js_suffixes, s, n)) return K_JS;
    if (in_strs(&R.data_types, s, n, 0, 1) || ends_in(&R.data_suffixes, s, n)) return K_DATA;
    return K_GATED;
}

/* the needle prefilter over a <script>'s attributes joined as Python does (k="v" for truthy values) */
static int attr_sig_check(page_t *p, lnode *el, const attrs_t *at, int skip_src, int gated, uint8_t *hit) {
    size_t total = 0;
    for (int i = 0; i < at->n; i++) total += at->a[i].nlen + at->a[i].vlen + 4;
    if (ensure(p, total + 1) < 0) return -1;
    size_t o = 0;
    for (int i = 0; i < at->n; i++) {
        const attr_t *a = &at->a[i];
        if (!a->value || !a->vlen) continue;
        if (skip_src && a->nlen == 3 && memcmp(a->name, "src", 3) == 0) continue;
        if (o) p->buf[o++] = ' ';
        memcpy(p->buf + o, a->name, a->nlen);
        o += a->nlen;
        p->buf[o++] = '=';
        p->buf[o++] = '"';
        memcpy(p->buf + o, a->value, a->vlen);
        o += a->vlen;
        p->buf[o++] = '"';
    }
    int need = needs_python(p->needles, p->buf, o, hit, &p->occ);
    if (!need) return 0;
    if (need == 1 && utf8_valid(p->buf, o)) return call_hits(p, p->buf, o, hit, gated); /* the text Python builds */
    /* rare: Python builds the text from the attributes and runs the signatures */
    PyObject *d = attrs_dict(el);
    PyObject *r = d ? PyObject_CallMethodObjArgs(p->walk, s_attr_signatures, d, skip_src ? Py_True : Py_False,
                                                 gated ? Py_True : Py_False, NULL)
                    : NULL;
    Py_XDECREF(d);
    if (!r) return -1;
    Py_DECREF(r);
    return 0;
}

static int rel_index(const unsigned char *s, size_t n) {
    for (Py_ssize_t i = 0; i < R.link_rels.n; i++)
        if (n == R.link_rels.len[i] && memcmp(s, R.link_rels.c[i], n) == 0) return (int)i;
    return -1;
}

static size_t skip_ws(const unsigned char *s, size_t n, size_t i) {
    while (i < n) {
        if (s[i] < 0x80) {
            if (!is_space(s[i])) break;
            i++;
            continue;
        }
        uint32_t cp;
        int k = utf8_at(s, n, i, &cp);
        if (!k || !cp_space(cp)) break;
        i += k;
    }
    return i;
}

/* _CSS_URL.finditer over valid UTF-8 css (re.I; "i" of @import also matches U+0130/U+0131: left to Python):
   url\(\s*(['"]?)(?![dD][aA][tT][aA]:)([^'")\s]+)\1\s*\)|@import\s+(['"])([^'"]+)\3
   Returns 1 when done, 0 when Python must do it, -1 on error. */
/* the next position at or after i holding 'u', 'U' or '@' (where a match can start), or n */
static size_t css_candidate(const unsigned char *s, size_t n, size_t i) {
#ifdef __SSE2__
    const __m128i bit = _mm_set1_epi8(0x20), u = _mm_set1_epi8('u'), at = _mm_set1_epi8('@');
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(s + i));
        unsigned mask = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(_mm_or_si128(v, bit), u), _mm_cmpeq_epi8(v, at)));
        if (mask) return i + __builtin_ctz(mask);
    }
#endif
    while (i < n && (s[i] | 32) != 'u' && s[i] != '@') i++;
    return i;
}

static int css_scan(page_t *p, const unsigned char *s, size_t n, PyObject *element, PyObject *attribute) {
    if (!utf8_valid(s, n)) return 0;
    for (const unsigned char *at = memchr(s, '@', n); at; at = memchr(at + 1, '@', s + n - at - 1))
        if (at + 2 < s + n && at[1] == 0xc4 && (at[2] == 0xb0 || at[2] == 0xb1)) return 0;
    size_t i = 0;
    while (i < n) {
        i = css_candidate(s, n, i);
        if (i >= n) break;
        unsigned char c = s[i];
        if ((c | 32) == 'u' && i + 3 < n && (s[i + 1] | 32) == 'r' && (s[i + 2] | 32) == 'l' && s[i + 3] == '(') {
            size_t j = skip_ws(s, n, i + 4);
            unsigned char q = 0;
            if (j < n && (s[j] == '\'' || s[j] == '"')) q = s[j++];
            if (!istarts(s + j, n - j, "data:")) {
                size_t g = j;
                while (g < n) {
                    unsigned char d = s[g];
                    if (d < 0x80) {
                        if (d == '\'' || d == '"' || d == ')' || is_space(d)) break;
                        g++;
                    } else {
                        uint32_t cp;
                        int k = utf8_at(s, n, g, &cp);
                        if (!k || cp_space(cp)) break;
                        g += k;
                    }
                }
                if (g > j) {
                    size_t k = g;
                    int ok = 1;
                    if (q) {
                        if (k < n && s[k] == q) k++;
                        else ok = 0;
                    }
                    if (ok) {
                        k = skip_ws(s, n, k);
                        if (k < n && s[k] == ')') {
                            if (add(p, s + j, g - j, element, attribute, s_empty, 1, 0) < 0) return -1;
                            i = k + 1;
                            continue;
                        }
                    }
                }
            }
        } else if (c == '@' && istarts(s + i + 1, n - i - 1, "import")) {
            size_t j = i + 7;
            size_t w = skip_ws(s, n, j);
            if (w > j && w < n && (s[w] == '\'' || s[w] == '"')) {
                unsigned char q = s[w];
                size_t g = w + 1;
                while (g < n && s[g] != '\'' && s[g] != '"') g++;
                if (g > w + 1 && g < n && s[g] == q) {
                    if (add(p, s + w + 1, g - w - 1, element, attribute, s_empty, 1, 0) < 0) return -1;
                    i = g + 1;
                    continue;
                }
            }
        }
        i++;
    }
    return 1;
}

static int css_attr(page_t *p, const attr_t *v, PyObject *element, PyObject *attribute) {
    int done = css_scan(p, v->value, v->vlen, element, attribute);
    if (done) return done < 0 ? -1 : 0;
    PyObject *s = decode(v->value, v->vlen);
    PyObject *r = s ? PyObject_CallMethodObjArgs(p->walk, s_add_css, s, element, attribute, NULL) : NULL;
    Py_XDECREF(s);
    if (!r) return -1;
    Py_DECREF(r);
    return 0;
}

static int has_url_paren(const unsigned char *s, size_t n) {
    for (size_t i = 0; i + 3 < n; i++)
        if (lower(s[i]) == 'u' && lower(s[i + 1]) == 'r' && lower(s[i + 2]) == 'l' && s[i + 3] == '(') return 1;
    return 0;
}

/* a truthy value for one of t's attribute names (dict semantics: the last of a name counts) */
static int any_truthy(const attrs_t *at, const strs_t *t) {
    for (Py_ssize_t i = 0; i < t->n; i++)
        if (truthy(get(at, t->c[i]))) return 1;
    return 0;
}

static int slot_of(lnode *el) {
    uintptr_t id = f_tag_id(el);
    if (id < 256) return R.slot_of_id[id] == NO_TAG ? -1 : R.slot_of_id[id];
    for (int i = 0; i < R.ntags; i++)
        if (R.tag[i].id == id) return i;
    return -1;
}

/* One element. Mirrors _Walk.visit for the elements _SELECTOR (or _SELECTOR_LINKS) picks. */
static int visit(page_t *p, lnode *el, uint8_t *hit) {
    int slot = slot_of(el);
    const tagspec_t *ts = slot >= 0 ? &R.tag[slot] : NULL;
    int role = ts ? ts->role : R_NONE;
    if (role == R_ANCHOR && !p->links) role = R_NONE;
    if (role == R_NONE) {
        /* only an inline style can make these count: look for it before reading every attribute */
        lattr *x = f_first_attr(el);
        if (!x) return 0;
        int style = 0;
        for (; x; x = f_next_attr(x)) {
            size_t nl = 0;
            const unsigned char *nm = f_attr_qname(x, &nl);
            if (nl == 5 && memcmp(nm, "style", 5) == 0) {
                style = 1;
                break;
            }
        }
        if (!style) return 0;
    }
    attrs_t at;
    read_attrs(el, &at);
    const attr_t *style = at.overflow ? NULL : get(&at, "style");
    int style_url = style && style->vlen && has_url_paren(style->value, style->vlen) && role != R_SCRIPT &&
                    role != R_STYLE && role != R_TITLE;
    int selected = role != R_NONE && (!ts->required || has(&at, ts->required));
    if (at.overflow) {
        /* very many attributes: decide on all of them, then let Python do the work */
        selected = role != R_NONE && (!ts->required || el_has(el, ts->required));
        return selected || (role != R_SCRIPT && role != R_STYLE && role != R_TITLE && el_style_url(el))
                   ? py_visit(p, el, slot) : 0;
    }
    if (at.dup) return selected || style_url ? py_visit(p, el, slot) : 0;
    if (!selected && !style_url) return 0;
    PyObject *name = ts ? ts->name : NULL;
    switch (role) { /* selected, or carrying a style url(): Python's visit runs its role either way */
    case R_TITLE:
        return title(p, el);
    case R_TEMPLATE:
        return py_visit(p, el, slot); /* rare: Python notes it, its content is observed after the walk */
    case R_SCRIPT: {
        const attr_t *type = get(&at, "type");
        int kind = truthy(type) ? script_kind(type) : K_JS;
        if (kind == K_UNKNOWN) return py_visit(p, el, slot);
        const attr_t *src = get(&at, "src");
        if (!truthy(src) && (any_truthy(&at, &R.deferred_src) || any_truthy(&at, &R.gate_src)))
            return py_visit(p, el, slot); /* a parked or held-back URL: rare, Python reads it */
        if (kind == K_DATA) return 0;
        int gated = kind == K_GATED;
        if (truthy(src)) {
            if (add(p, src->value, src->vlen, s_script, s_src, s_empty, 0, gated) < 0) return -1;
            if (at.n > 1 && attr_sig_check(p, el, &at, 1, gated, hit) < 0) return -1;
        } else {
            size_t n;
            unsigned char *code = text_of(p, el, &n);
            if (code && n) {
                int rc = scan_script(p, code, n, gated, hit);
                text_free(p, code);
                if (rc < 0) return -1;
                if (at.n > 1 && attr_sig_check(p, el, &at, 0, gated, hit) < 0) return -1;
            } else {
                text_free(p, code);
            }
        }
        return 0;
    }
    case R_STYLE: {
        size_t n;
        unsigned char *t = text_of(p, el, &n);
        attr_t v = {NULL, t ? t : (const unsigned char *)"", 0, t ? n : 0};
        int rc = css_attr(p, &v, s_style, s_text);
        text_free(p, t);
        return rc;
    }
    case R_FETCH: {
        if (ts->gateable && any_truthy(&at, &R.gate_src)) return py_visit(p, el, slot); /* maybe held back */
        for (int i = 0; i < ts->nfetch; i++) {
            const attr_t *v = get(&at, ts->fetch[i]);
            if (!truthy(v)) continue;
            int rc = ts->fetch_srcset[i]
                         ? add_srcset(p, v, name, ts->fetch_str[i], s_empty)
                         : add(p, v->value, v->vlen, name, ts->fetch_str[i], s_empty, 0, 0);
            if (rc < 0) return -1;
        }
        break;
    }
    case R_ANCHOR: {
        const attr_t *href = get(&at, "href");
        if (truthy(href) && add_link(p, el, href) < 0) return -1;
        break;
    }
    case R_LINK: {
        const attr_t *r = get(&at, "rel");
        if (!truthy(r)) break;
        if (!is_ascii(r->value, r->vlen)) return py_visit(p, el, slot);
        unsigned char low[256];
        if (r->vlen > sizeof low) return py_visit(p, el, slot);
        for (size_t i = 0; i < r->vlen; i++) low[i] = lower(r->value[i]);
        PyObject *rel = NULL;
        int k = rel_index(low, r->vlen);
        if (k >= 0) {
            rel = PyTuple_GET_ITEM(R.link_rels.names, k);
            Py_INCREF(rel);
        } else {
            /* " ".join(rel.split()) */
            unsigned char norm[256];
            size_t o = 0, i = 0;
            int any = 0;
            while (i < r->vlen) {
                while (i < r->vlen && is_space(low[i])) i++;
                if (i >= r->vlen) break;
                size_t a = i;
                while (i < r->vlen && !is_space(low[i])) i++;
                if (o) norm[o++] = ' ';
                memcpy(norm + o, low + a, i - a);
                o += i - a;
                if (rel_index(low + a, i - a) >= 0) any = 1;
            }
            if (rel_index(norm, o) >= 0 || any) {
                rel = PyUnicode_FromStringAndSize((const char *)norm, o);
                if (!rel) return -1;
            }
        }
        if (!rel) break;
        const attr_t *href = get(&at, "href");
        int rc = 0;
        if (href && add(p, href->value, href->vlen, s_link, s_href, rel, 0, 0) < 0) rc = -1;
        const attr_t *iss = get(&at, "imagesrcset");
        if (!rc && truthy(iss) && add_srcset(p, iss, s_link, s_imagesrcset, rel) < 0) rc = -1;
        Py_DECREF(rel);
        if (rc < 0) return -1;
        break;
    }
    case R_META: {
        const attr_t *he = get(&at, "http-equiv");
        if (he && (!is_ascii(he->value, he->vlen) || ieq(he->value, he->vlen, "refresh"))) return py_visit(p, el, slot);
        break;
    }
    default:
        break;
    }
    if (style_url) {
        PyObject *el_name;
        if (name) {
            el_name = name;
            Py_INCREF(el_name);
        } else {
            size_t n = 0;
            const unsigned char *q = f_element_qname(el, &n);
            el_name = decode(q ? q : (const unsigned char *)"", q ? n : 0);
            if (!el_name) return -1;
        }
        int rc = css_attr(p, style, el_name, s_style);
        Py_DECREF(el_name);
        if (rc < 0) return -1;
    }
    return 0;
}

static PyObject *get_str_or_none(PyObject *walk, PyObject *name, const char **s, Py_ssize_t *n) {
    PyObject *v = PyObject_GetAttr(walk, name);
    if (!v) return NULL;
    *s = NULL;
    *n = 0;
    if (PyUnicode_Check(v)) {
        *s = PyUnicode_AsUTF8AndSize(v, n);
        if (!*s) {
            Py_DECREF(v);
            return NULL;
        }
    }
    return v;
}

/* walk(root_mem_id, walk_state, Reference, needles capsule) */
static PyObject *py_walk(PyObject *self, PyObject *args) {
    unsigned long long root_id;
    PyObject *walk, *reference, *cap;
    if (!PyArg_ParseTuple(args, "KOOO", &root_id, &walk, &reference, &cap)) return NULL;
    if (!loaded || !configured) {
        PyErr_SetString(PyExc_RuntimeError, "fastwalk not initialised");
        return NULL;
    }
    page_t p = {0};
    p.walk = walk;
    p.reference = reference;
    p.needles = PyCapsule_GetPointer(cap, "fastwalk.needles");
    if (!p.needles) return NULL;
    lnode *root = (lnode *)(uintptr_t)root_id;
    p.doc = f_parent(root);
    PyObject *ret = NULL;
    uint8_t *hit = PyMem_Calloc(p.needles->nsigs + 1, 1);
    p.obs = PyObject_GetAttr(walk, s_obs);
    if (p.obs) {
        PyObject *t0 = PyObject_GetAttr(p.obs, s_title);
        p.title_done = t0 ? PyObject_IsTrue(t0) == 1 : 0;
        Py_XDECREF(t0);
    }
    p.refs = p.obs ? PyObject_GetAttr(walk, s_refs) : NULL;
    p.seen = PyObject_GetAttr(walk, s_seen);
    {
        PyObject *g = p.seen ? PyObject_GetAttrString(walk, "gated") : NULL;
        PyObject *e = g ? PyObject_GetAttrString(walk, "encoded") : NULL;
        p.gated_all = g ? PyObject_IsTrue(g) == 1 : 0;
        p.encoded = e ? PyObject_IsTrue(e) == 1 : 0;
        Py_XDECREF(g);
        if (!e) Py_CLEAR(p.seen);
        Py_XDECREF(e);
    }
    p.rel_root = p.refs && p.seen ? get_str_or_none(walk, s_rel_root, &p.rel_root_s, &p.rel_root_n) : NULL;
    p.rel_dir = p.rel_root ? get_str_or_none(walk, s_rel_dir, &p.rel_dir_s, &p.rel_dir_n) : NULL;
    p.rel_host = p.rel_dir ? PyObject_GetAttr(walk, s_rel_host) : NULL;
    if (!hit || !p.rel_host) goto done;
    {
        PyObject *flag = PyObject_GetAttr(walk, s_links);
        PyObject *max = flag ? PyObject_GetAttr(walk, s_max_links) : NULL;
        p.links = flag ? PyObject_IsTrue(flag) == 1 : 0;
        p.max_links = max ? PyLong_AsSsize_t(max) : -1;
        Py_XDECREF(flag);
        Py_XDECREF(max);
        if (!max || PyErr_Occurred()) goto done;
        p.links_list = PyObject_GetAttr(p.obs, s_links);
        if (!p.links_list) goto done;
        p.self_link = get_str_or_none(walk, s_self_link, &p.self_link_s, &p.self_link_n);
        if (!p.self_link) goto done;
        if (!PyList_Check(p.links_list)) {
            PyErr_SetString(PyExc_TypeError, "obs.links must be a list");
            goto done;
        }
    }
    if (!PyList_Check(p.refs) || !PySet_Check(p.seen)) {
        PyErr_SetString(PyExc_TypeError, "refs must be a list, seen a set");
        goto done;
    }
    if (!p.rel_root_s || !p.rel_dir_s) p.rel_root_s = NULL;
    lnode *n = root;
    while (n) {
        if (f_type(n) == ELEMENT_NODE && visit(&p, n, hit) < 0) goto done;
        lnode *c = f_first_child(n);
        if (c) {
            n = c;
            continue;
        }
        while (n != root && !f_next(n)) n = f_parent(n);
        if (n == root) break;
        n = f_next(n);
    }
    ret = Py_None;
    Py_INCREF(ret);
done:
    PyMem_Free(hit);
    PyMem_Free(p.buf);
    PyMem_Free(p.occ.v);
    for (int k = 0; k < HOST_CACHE; k++) Py_XDECREF(p.hosts[k]);
    Py_XDECREF(p.refs);
    Py_XDECREF(p.obs);
    Py_XDECREF(p.seen);
    Py_XDECREF(p.rel_root);
    Py_XDECREF(p.rel_dir);
    Py_XDECREF(p.rel_host);
    Py_XDECREF(p.links_list);
    Py_XDECREF(p.self_link);
    return ret;
}

/* load(path of selectolax's lexbor extension): find the lexbor functions it exports */
static PyObject *py_load(PyObject *self, PyObject *args) {
    const char *path;
    if (!PyArg_ParseTuple(args, "s", &path)) return NULL;
    void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    if (!h) h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        PyErr_Format(PyExc_ImportError, "cannot open %s", path);
        return NULL;
    }
#define SYM(var, name)                                                      \
    *(void **)(&var) = dlsym(h, name);                                      \
    if (!var) {                                                             \
        PyErr_Format(PyExc_ImportError, "lexbor symbol %s not found", name); \
        return NULL;                                                        \
    }
    SYM(f_first_child, "lxb_dom_node_first_child_noi");
    SYM(f_next, "lxb_dom_node_next_noi");
    SYM(f_parent, "lxb_dom_node_parent_noi");
    SYM(f_type, "lxb_dom_node_type_noi");
    SYM(f_tag_id, "lxb_dom_node_tag_id_noi");
    SYM(f_first_attr, "lxb_dom_element_first_attribute_noi");
    SYM(f_next_attr, "lxb_dom_element_next_attribute_noi");
    SYM(f_attr_qname, "lxb_dom_attr_qualified_name");
    SYM(f_attr_value, "lxb_dom_attr_value_noi");
    SYM(f_text_content, "lxb_dom_node_text_content");
    SYM(f_destroy_text, "lxb_dom_document_destroy_text_noi");
    SYM(f_element_qname, "lxb_dom_element_qualified_name");
#undef SYM
    loaded = 1;
    Py_RETURN_NONE;
}

/* tag_id(mem_id) -> lexbor tag id of a node */
static PyObject *py_tag_id(PyObject *self, PyObject *args) {
    unsigned long long id;
    if (!PyArg_ParseTuple(args, "K", &id)) return NULL;
    if (!loaded) {
        PyErr_SetString(PyExc_RuntimeError, "fastwalk not loaded");
        return NULL;
    }
    return PyLong_FromUnsignedLongLong(f_tag_id((lnode *)(uintptr_t)id));
}

/* a sequence of str from spec[key] as an interned tuple */
static int take_strs(PyObject *spec, const char *key, strs_t *out) {
    PyObject *v = PyDict_GetItemString(spec, key); /* borrowed */
    if (!v) {
        PyErr_Format(PyExc_KeyError, "rule table %s missing", key);
        return -1;
    }
    PyObject *t = PySequence_Tuple(v);
    if (!t) return -1;
    Py_ssize_t n = PyTuple_GET_SIZE(t);
    const char **c = PyMem_Calloc(n ? n : 1, sizeof(char *));
    size_t *len = PyMem_Calloc(n ? n : 1, sizeof(size_t));
    if (!c || !len) {
        Py_DECREF(t);
        PyMem_Free((void *)c);
        PyMem_Free(len);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyTuple_GET_ITEM(t, i);
        if (!PyUnicode_Check(item)) {
            PyErr_Format(PyExc_TypeError, "rule table %s holds a non-str", key);
            goto fail;
        }
        Py_INCREF(item);
        PyUnicode_InternInPlace(&item);
        PyTuple_SET_ITEM(t, i, item); /* steals the reference; drops the old one */
        c[i] = PyUnicode_AsUTF8(item);
        if (!c[i]) goto fail;
        len[i] = strlen(c[i]);
    }
    Py_XDECREF(out->names);
    PyMem_Free((void *)out->c);
    PyMem_Free(out->len);
    out->names = t;
    out->c = c;
    out->len = len;
    out->n = n;
    return 0;
fail:
    Py_DECREF(t);
    PyMem_Free((void *)c);
    PyMem_Free(len);
    return -1;
}

static int take_size(PyObject *spec, const char *key, size_t *out) {
    PyObject *v = PyDict_GetItemString(spec, key);
    if (!v) {
        PyErr_Format(PyExc_KeyError, "rule value %s missing", key);
        return -1;
    }
    Py_ssize_t x = PyLong_AsSsize_t(v);
    if (x < 1 && !PyErr_Occurred()) PyErr_Format(PyExc_ValueError, "%s must be positive", key);
    if (PyErr_Occurred()) return -1;
    *out = (size_t)x;
    return 0;
}

/* configure(spec): the rule tables of crawler/observe.py (observe._native_spec() builds the dict):
   tags: [(name, lexbor id, role, fetch attributes, required attribute or None, gateable)], skip_schemes,
   js_types, js_suffixes, data_types, data_suffixes, link_rels, gate_src, deferred_src, url_openers,
   sig_limit, sig_tail, title_max, link_text_max */
static PyObject *py_configure(PyObject *self, PyObject *args) {
    PyObject *spec;
    if (!PyArg_ParseTuple(args, "O!", &PyDict_Type, &spec)) return NULL;
    configured = 0;
    PyObject *tags = PyDict_GetItemString(spec, "tags");
    if (!tags || !PyList_Check(tags) || PyList_GET_SIZE(tags) > MAX_TAGS) {
        PyErr_SetString(PyExc_ValueError, "tags must be a list of at most 32 element rules");
        return NULL;
    }
    if (take_strs(spec, "skip_schemes", &R.skip_schemes) < 0 || take_strs(spec, "js_types", &R.js_types) < 0 ||
        take_strs(spec, "js_suffixes", &R.js_suffixes) < 0 || take_strs(spec, "data_types", &R.data_types) < 0 ||
        take_strs(spec, "data_suffixes", &R.data_suffixes) < 0 || take_strs(spec, "link_rels", &R.link_rels) < 0 ||
        take_strs(spec, "gate_src", &R.gate_src) < 0 || take_strs(spec, "deferred_src", &R.deferred_src) < 0 ||
        take_size(spec, "sig_limit", &R.sig_limit) < 0 || take_size(spec, "sig_tail", &R.sig_tail) < 0 ||
        take_size(spec, "title_max", &R.title_max) < 0 || take_size(spec, "link_text_max", &R.link_text_max) < 0)
        return NULL;
    if (R.sig_tail >= R.sig_limit) {
        PyErr_SetString(PyExc_ValueError, "sig_tail must be below sig_limit");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < R.skip_schemes.n; i++)
        if (R.skip_schemes.len[i] > 11) {
            PyErr_SetString(PyExc_ValueError, "skipped schemes are matched on 11 characters");
            return NULL;
        }
    PyObject *op = PyDict_GetItemString(spec, "url_openers");
    const char *ops = op ? PyUnicode_AsUTF8(op) : NULL;
    if (!ops || strlen(ops) >= sizeof R.url_openers) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "url_openers must be a short str");
        return NULL;
    }
    strcpy(R.url_openers, ops);
    for (int i = 0; i < R.ntags; i++) {
        Py_CLEAR(R.tag[i].name);
        for (int k = 0; k < R.tag[i].nfetch; k++) Py_CLEAR(R.tag[i].fetch_str[k]);
    }
    R.ntags = 0;
    memset(R.slot_of_id, NO_TAG, sizeof R.slot_of_id);
    Py_XSETREF(R.spec, Py_NewRef(spec)); /* keeps the strings the tag rules borrow */
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(tags); i++) {
        PyObject *name, *fetch, *required;
        const char *role;
        unsigned long long id;
        int gateable;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(tags, i), "UKsO!Op", &name, &id, &role, &PyTuple_Type, &fetch,
                              &required, &gateable))
            return NULL;
        tagspec_t *t = &R.tag[R.ntags];
        t->role = R_NONE;
        for (int r = 1; ROLE_NAMES[r]; r++)
            if (strcmp(role, ROLE_NAMES[r]) == 0) t->role = r;
        if (t->role == R_NONE || PyTuple_GET_SIZE(fetch) > MAX_FETCH) {
            PyErr_Format(PyExc_ValueError, "element rule %zd: unknown role %s or too many attributes", i, role);
            return NULL;
        }
        t->id = (uintptr_t)id;
        Py_INCREF(name);
        PyUnicode_InternInPlace(&name);
        t->name = name;
        t->nfetch = (int)PyTuple_GET_SIZE(fetch);
        for (int k = 0; k < t->nfetch; k++) {
            PyObject *a = PyTuple_GET_ITEM(fetch, k);
            if (!PyUnicode_Check(a)) {
                PyErr_SetString(PyExc_TypeError, "fetch attributes must be str");
                return NULL;
            }
            Py_INCREF(a);
            PyUnicode_InternInPlace(&a);
            t->fetch_str[k] = a;
            t->fetch[k] = PyUnicode_AsUTF8(a);
            size_t fl = t->fetch[k] ? strlen(t->fetch[k]) : 0;
            t->fetch_srcset[k] = fl >= 6 && memcmp(t->fetch[k] + fl - 6, "srcset", 6) == 0;
        }
        t->required = required == Py_None ? NULL : PyUnicode_AsUTF8(required);
        if (required != Py_None && !t->required) return NULL;
        t->gateable = gateable;
        R.ntags++;
    }
    for (int i = R.ntags - 1; i >= 0; i--)
        if (R.tag[i].id < 256) R.slot_of_id[R.tag[i].id] = (uint8_t)i;
    configured = 1;
    Py_RETURN_NONE;
}

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

static PyMethodDef methods[] = {
    {"utf8_valid", py_utf8_valid, METH_VARARGS, "utf8_valid(data): strict UTF-8?"},
    {"set_reference", py_set_reference, METH_VARARGS, "set_reference(cls, fields): build cls by its slots"},
    {"body_facts", py_body_facts, METH_VARARGS, "body_facts(data): (count of <, <base|<BASE|<Base occurs, NUL occurs)"},
    {"load", py_load, METH_VARARGS, "load(path): find lexbor's functions in selectolax's extension"},
    {"tag_id", py_tag_id, METH_VARARGS, "tag_id(mem_id): lexbor tag id of a node"},
    {"configure", py_configure, METH_VARARGS, "configure(spec): the rule tables of crawler/observe.py"},
    {"find_markers", py_find_markers, METH_VARARGS, "find_markers(data, markers): [(index, positions)] of those that occur"},
    {"needles", py_needles, METH_VARARGS, "needles(plain, nsigs, lower, always): a compiled needle table"},
    {"needle_hits", py_needle_hits, METH_VARARGS, "needle_hits(needles, data): signatures whose needles occur"},
    {"walk", py_walk, METH_VARARGS, "walk(root_mem_id, walk, Reference, needles): the native element walk"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fastwalk", "Native walk for crawler.observe.", -1,
                                    methods};

PyMODINIT_FUNC PyInit__fastwalk(void) {
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
#define S(var, text) if (!(var = PyUnicode_InternFromString(text))) return NULL;
    S(s_src, "src") S(s_srcset, "srcset") S(s_script, "script") S(s_inline, "inline") S(s_href, "href")
    S(s_imagesrcset, "imagesrcset") S(s_empty, "") S(s_text, "text") S(s_style, "style") S(s_link, "link")
    S(s_refs, "refs") S(s_seen, "seen") S(s_add, "add") S(s_add_css, "add_css") S(s_add_srcset, "add_srcset")
    S(s_visit, "visit") S(s_attr_signatures, "attr_signatures") S(s_scan_script, "scan_script")
    S(s_signature_matches, "signature_matches") S(s_match, "match") S(s_end, "end") S(s_finditer, "finditer") S(s_set_title, "set_title") S(s_obs, "obs") S(s_title, "title") S(s_rel_root, "rel_root")
    S(s_rel_dir, "rel_dir") S(s_rel_host, "rel_host") S(s_links, "links") S(s_max_links, "max_links")
    S(s_link_fn, "link") S(s_self_link, "self_link")
#undef S
    return m;
}
