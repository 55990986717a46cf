/* The page state of one walk and its references: resolving a URL value against the base as _absolute does
   for the cases it can prove (else Python's add), building Reference objects.
   Part of crawler/_fastwalk.c, which includes the parts in order as one translation unit. */

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
    /* an absolute path ("/…", not "//…") may hold colons (no scheme can start it) and non-ASCII characters
       (valid UTF-8 without Unicode whitespace, which Python's strip() could have removed at its end) */
    int abs_path = s[0] == '/' && !(n >= 2 && s[1] == '/'), ascii = 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c >= 0x80 && abs_path) {
            ascii = 0;
            continue;
        }
        if (c <= 0x20 || c >= 0x7f || c == '\\' || (c == ':' && !abs_path) || c == ';') return RES_PYTHON;
    }
    if (!ascii) {
        size_t end;
        if (clean_tail(s, n, 0, NULL, 0, &end) != 1) return RES_PYTHON;
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
    if (p->encoded) return py_add(p, raw, n, element, attribute, rel, inline_, gated);
    size_t a = 0, b = n;
    while (a < b && is_space(raw[a])) a++;
    while (b > a && is_space(raw[b - 1])) b--;
    const unsigned char *s = raw + a;
    /* non-ASCII values only as an absolute path (resolve checks the rest) */
    if (!is_ascii(raw, n) && !(b > a && s[0] == '/' && !(b - a >= 2 && s[1] == '/')))
        return py_add(p, raw, n, element, attribute, rel, inline_, gated);
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
