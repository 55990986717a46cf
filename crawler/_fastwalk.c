/* Native walk for crawler.observe: the hot loop of observe() over a lexbor tree, in C.
 *
 * The pure-Python walk (crawler/observe/walk.py, _Walk.visit over tree.css(_SELECTOR)) is the reference.
 * This module walks the same elements in the same (document) order and handles the common cases itself:
 * absolute http(s) URLs with a plain host, relative URLs (dot segments too, on a clean base), srcset lists,
 * <link rel>, script types, URL literals in inline scripts, the needle prefilter of the inline signatures and
 * their regex runs at the anchor positions it finds (the compiled regexes are handed over with the needle
 * table), and <a href> links. Everything else (odd URLs, CSS it cannot prove, meta refresh, held-back script
 * and iframe URLs) is handed back to the _Walk object's Python methods, which share the page state
 * (references, their dedup keys, signature lists, links). So each case is either provably the same as the
 * Python code or is the Python code; tests compare both walks.
 *
 * Rules are written once, in crawler/observe/rules.py: which elements are visited and which of their
 * attributes fetch something, the script types that run or hold data, the link rels that fetch, the skipped URL
 * schemes, the attributes that hold a URL back, the signature window. configure() receives them when the
 * module is set up; this file holds only the walk and its parsing primitives.
 *
 * lexbor is reached through the functions selectolax's extension exports (the "_noi" variants, made for
 * bindings), found with dlsym; no lexbor struct layout is used here. pyproject.toml pins selectolax to the
 * minor version these symbols were tested with, and crawler/observe/native.py checks both walks agree at
 * start-up.
 *
 * The code is split by subject into crawler/fastwalk/*.c, included below in order as one translation unit.
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

/* --- the rule tables, as configure() received them from crawler/observe/rules.py -------------------------- */
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

/* the parts, in order (one translation unit: their helpers stay static) */
#include "fastwalk/needles.c"
#include "fastwalk/anchors.c"
#include "fastwalk/bytes.c"
#include "fastwalk/refs.c"
#include "fastwalk/elements.c"
#include "fastwalk/scripts.c"
#include "fastwalk/walk.c"
#include "fastwalk/setup.c"
#include "fastwalk/scan.c"

static PyMethodDef methods[] = {
    {"utf8_valid", py_utf8_valid, METH_VARARGS, "utf8_valid(data): strict UTF-8?"},
    {"set_reference", py_set_reference, METH_VARARGS, "set_reference(cls, fields): build cls by its slots"},
    {"body_facts", py_body_facts, METH_VARARGS, "body_facts(data): (count of <, <base|<BASE|<Base occurs, NUL occurs)"},
    {"load", py_load, METH_VARARGS, "load(path): find lexbor's functions in selectolax's extension"},
    {"tag_id", py_tag_id, METH_VARARGS, "tag_id(mem_id): lexbor tag id of a node"},
    {"configure", py_configure, METH_VARARGS, "configure(spec): the rule tables of crawler.observe.rules"},
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
