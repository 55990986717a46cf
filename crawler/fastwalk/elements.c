/* Elements: their attributes and text (collapsed as Python's " ".join(text.split())), the Python visit for
   the rare cases, titles, links, srcset lists.
   Part of crawler/_fastwalk.c, which includes the parts in order as one translation unit. */

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

/* the element's name as a str (a new reference): `known` (a rule's interned tag name) when given, else its
   qualified name as lexbor holds it */
static PyObject *element_name(lnode *el, PyObject *known) {
    if (known) return Py_NewRef(known);
    size_t n = 0;
    const unsigned char *q = f_element_qname(el, &n);
    return decode(q ? q : (const unsigned char *)"", q ? n : 0);
}

static int py_visit(page_t *p, lnode *el, int slot) {
    PyObject *name = element_name(el, slot >= 0 ? R.tag[slot].name : NULL);
    if (!name) return -1;
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
    /* non-ASCII hrefs only when absolute or an absolute path: plain_absolute and resolve check their tail (no
       Unicode whitespace, valid UTF-8), so Python's strip() would have removed nothing more than the ASCII
       trim here */
    if (sn && (is_ascii(raw, n) || starts(s, sn, "https://") || starts(s, sn, "http://") ||
               (s[0] == '/' && !(sn >= 2 && s[1] == '/')))) {
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
