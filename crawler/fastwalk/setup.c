/* Set-up: lexbor's functions found in selectolax's extension, and the rule tables configure() receives.
   Part of crawler/_fastwalk.c, which includes the parts in order as one translation unit. */

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

/* configure(spec): the rule tables of crawler/observe/rules.py (native._native_spec() builds the dict):
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
