/* Scripts and styles: script kinds, URL literals and signatures in inline code and script attributes, CSS url().
   Part of crawler/_fastwalk.c, which includes the parts in order as one translation unit. */

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
                PyObject *mod = PyImport_ImportModule("crawler.observe.sigmatch");
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
