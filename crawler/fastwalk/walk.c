/* The walk: one element (mirrors _Walk.visit) and the document-order traversal that py_walk runs.
   Part of crawler/_fastwalk.c, which includes the parts in order as one translation unit. */

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
        PyObject *el_name = element_name(el, name);
        if (!el_name) return -1;
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
