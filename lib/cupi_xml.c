/* cupi_xml.c - the XML codec (libxml2).
 *
 * CUPI never sends a DTD, so any document carrying one is refused before
 * libxml2 sees it: that closes external entities (XXE) and entity expansion
 * (billion laughs) at once, whatever the parser's defaults. The parser also
 * runs with XML_PARSE_NONET and without XML_PARSE_NOENT / DTDLOAD. */
#include "codec_internal.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cupi/text.h>

#define XML_SAFE_OPTIONS                                                                       \
    (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA)

static bool has_markup_declaration(const char *body, size_t len)
{
    static const char *const decls[] = {"<!DOCTYPE", "<!ENTITY", "<!doctype"};
    for (size_t d = 0; d < sizeof decls / sizeof decls[0]; d++) {
        size_t n = strlen(decls[d]);
        for (size_t i = 0; i + n <= len; i++)
            if (body[i] == '<' && memcmp(body + i, decls[d], n) == 0)
                return true;
    }
    return false;
}

/* Parses body into a document, or fills err. */
static xmlDocPtr parse_document(const char *body, size_t len, char *err, size_t errsz,
                                const cupi_scrub *scrub)
{
    if (has_markup_declaration(body, len)) {
        cupi_set_error(err, errsz, "XML document type declarations are not accepted");
        return NULL;
    }
    if (len > (size_t)INT32_MAX)
        return NULL;
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        cupi_set_error(err, errsz, "out of memory");
        return NULL;
    }
    xmlDocPtr doc = xmlCtxtReadMemory(ctxt, body, (int)len, NULL, NULL, XML_SAFE_OPTIONS);
    if (!doc || !ctxt->wellFormed) {
        const char *why = ctxt->lastError.message ? ctxt->lastError.message : "not well-formed";
        /* libxml2 quotes names and bytes of the body: treat it as server text. */
        char shown[120];
        codec_fragment(scrub, why, strcspn(why, "\n"), shown, sizeof shown);
        cupi_set_error(err, errsz, "malformed XML at line %d: %s", ctxt->lastError.line, shown);
        xmlFreeDoc(doc);
        doc = NULL;
    } else if (doc->intSubset || doc->extSubset) {
        cupi_set_error(err, errsz, "XML document type declarations are not accepted");
        xmlFreeDoc(doc);
        doc = NULL;
    }
    xmlFreeParserCtxt(ctxt);
    return doc;
}

/* Text of a leaf element; NULL (with err) when it has element children or
 * entity references. The result is owned by libxml2's allocator. */
static xmlChar *leaf_text(xmlNodePtr el, char *err, size_t errsz)
{
    for (xmlNodePtr c = el->children; c; c = c->next) {
        if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE &&
            c->type != XML_COMMENT_NODE) {
            cupi_set_error(err, errsz, "field %s is not a simple value",
                           (const char *)el->name);
            return NULL;
        }
    }
    xmlChar *text = xmlNodeGetContent(el);
    if (!text)
        text = xmlStrdup((const xmlChar *)"");
    return text;
}

/* True unless the XML declaration names an encoding other than UTF-8 (or
 * the body is UTF-16): then libxml2 converts, and the bytes are not UTF-8. */
static bool declared_utf8(const char *body, size_t len)
{
    if (len >= 2 && ((unsigned char)body[0] == 0xff || (unsigned char)body[0] == 0xfe ||
                     body[0] == '\0' || body[1] == '\0'))
        return false;
    if (len < 5 || memcmp(body, "<?xml", 5) != 0)
        return true;
    const char *end = memchr(body, '>', len);
    size_t decl = end ? (size_t)(end - body) : len;
    for (size_t i = 0; i + 9 < decl; i++) {
        if (strncasecmp(body + i, "encoding=", 9) == 0) {
            const char *v = body + i + 10; /* past the quote */
            size_t left = decl - (i + 10);
            return (left >= 5 && strncasecmp(v, "utf-8", 5) == 0) ||
                   (left >= 4 && strncasecmp(v, "utf8", 4) == 0);
        }
    }
    return true;
}

/* libxml2 refuses a body that is not UTF-8 with a message naming a line, not
 * a field. When the first bad byte sits in the text of a field's element,
 * name the field and its value instead. */
static cupi_status bad_utf8_field(codec_sink *k, const char *body, size_t len)
{
    size_t bad;
    if (!declared_utf8(body, len) || cupi_utf8_valid(body, len, &bad))
        return CUPI_OK;
    size_t lt = bad;
    while (lt > 0 && body[lt - 1] != '<')
        lt--;
    if (lt == 0)
        return CUPI_OK;
    const char *name = body + lt; /* just after '<' */
    if (*name == '/' || *name == '?' || *name == '!')
        return CUPI_OK;
    size_t name_len = 0;
    while (lt + name_len < bad && !strchr(" \t\r\n/>", name[name_len]))
        name_len++;
    if (lt + name_len >= bad || name[name_len] != '>')
        return CUPI_OK; /* the bad byte is in the tag itself */
    char field_name[64];
    snprintf(field_name, sizeof field_name, "%.*s", (int)(name_len < 63 ? name_len : 63), name);
    const cupi_field *f = cupi_field_find(k->snap.resource, field_name);
    if (!f)
        return CUPI_OK;
    const char *value = name + name_len + 1;
    const char *stop = memchr(value, '<', len - (size_t)(value - body));
    size_t value_len = stop ? (size_t)(stop - value) : len - (size_t)(value - body);
    return codec_reject_value(k, f, value, value_len, "not valid UTF-8");
}

cupi_status cupi_xml_decode(cupi_resource r, const char *body, size_t len, cupi_snapshot *out,
                            char *err, size_t errsz, const cupi_scrub *scrub)
{
    codec_sink sink;
    codec_sink_init(&sink, r, err, errsz, scrub);
    if (bad_utf8_field(&sink, body, len) != CUPI_OK)
        return CUPI_E_PARSE;
    xmlDocPtr doc = parse_document(body, len, err, errsz, scrub);
    if (!doc)
        return CUPI_E_PARSE;
    cupi_status st = CUPI_OK;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (!root || strcasecmp((const char *)root->name, cupi_resource_root(r)) != 0) {
        char shown[80];
        const char *name = root ? (const char *)root->name : "";
        codec_fragment(scrub, name, strlen(name), shown, sizeof shown);
        cupi_set_error(err, errsz, "root element is <%s>, expected <%s>", shown,
                       cupi_resource_root(r));
        xmlFreeDoc(doc);
        return CUPI_E_PARSE;
    }
    for (xmlNodePtr el = root->children; el && st == CUPI_OK; el = el->next) {
        if (el->type != XML_ELEMENT_NODE || !cupi_field_find(r, (const char *)el->name))
            continue;
        xmlChar *text = leaf_text(el, err, errsz);
        if (!text) {
            st = CUPI_E_PARSE;
            break;
        }
        st = codec_take_field(&sink, (const char *)el->name, (const char *)text,
                              strlen((const char *)text));
        xmlFree(text);
    }
    xmlFreeDoc(doc);
    return st == CUPI_OK ? codec_sink_finish(&sink, out) : st;
}

/* A growable string; encoding fails only on allocation failure. */
typedef struct strbuf {
    char *data;
    size_t len, cap;
    bool failed;
} strbuf;

static void sb_append(strbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void sb_puts(strbuf *b, const char *s)
{
    sb_append(b, s, strlen(s));
}

static void sb_escaped(strbuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            sb_puts(b, "&amp;");
            break;
        case '<':
            sb_puts(b, "&lt;");
            break;
        case '>':
            sb_puts(b, "&gt;");
            break;
        case '"':
            sb_puts(b, "&quot;");
            break;
        case '\'':
            sb_puts(b, "&apos;");
            break;
        default:
            sb_append(b, s, 1);
            break;
        }
    }
}

static void sb_element(strbuf *b, const char *indent, const char *name, const char *value)
{
    sb_puts(b, indent);
    sb_puts(b, "<");
    sb_puts(b, name);
    sb_puts(b, ">");
    sb_escaped(b, value);
    sb_puts(b, "</");
    sb_puts(b, name);
    sb_puts(b, ">\n");
}

static cupi_status sb_finish(strbuf *b, char **out, size_t *len)
{
    if (b->failed || !b->data) {
        free(b->data);
        return CUPI_E_NOMEM;
    }
    *out = b->data;
    if (len)
        *len = b->len;
    return CUPI_OK;
}

cupi_status cupi_xml_encode(const cupi_snapshot *s, char **out, size_t *len)
{
    strbuf b = {0};
    size_t n;
    const cupi_field *f = cupi_fields(s->resource, &n);
    const char *root = cupi_resource_root(s->resource);
    char text[CUPI_STR_MAX + 32];
    sb_puts(&b, "<");
    sb_puts(&b, root);
    sb_puts(&b, ">\n");
    for (size_t i = 0; i < n; i++)
        if (cupi_snapshot_has(s, f[i].column))
            sb_element(&b, "  ", f[i].name,
                       cupi_value_format(&f[i], &s->v[i], text, sizeof text));
    sb_puts(&b, "</");
    sb_puts(&b, root);
    sb_puts(&b, ">\n");
    return sb_finish(&b, out, len);
}

static xmlNodePtr find_element(xmlNodePtr node, const char *name)
{
    for (; node; node = node->next) {
        if (node->type != XML_ELEMENT_NODE)
            continue;
        if (strcasecmp((const char *)node->name, name) == 0)
            return node;
        xmlNodePtr hit = find_element(node->children, name);
        if (hit)
            return hit;
    }
    return NULL;
}

char *cupi_xml_error_text(const char *body, size_t len)
{
    xmlDocPtr doc = parse_document(body, len, NULL, 0, NULL);
    if (!doc)
        return NULL;
    char *found = NULL;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr el = find_element(root, "message");
    if (!el)
        el = find_element(root, "code");
    if (el) {
        xmlChar *text = xmlNodeGetContent(el);
        if (text) {
            found = strdup((const char *)text);
            xmlFree(text);
        }
    }
    xmlFreeDoc(doc);
    return found;
}

char *cupi_xml_error_body(const char *code, const char *message)
{
    strbuf b = {0};
    char *out = NULL;
    sb_puts(&b, "<ErrorDetails>\n  <errors>\n");
    sb_element(&b, "    ", "code", code ? code : "");
    sb_element(&b, "    ", "message", message ? message : "");
    sb_puts(&b, "  </errors>\n</ErrorDetails>\n");
    return sb_finish(&b, &out, NULL) == CUPI_OK ? out : NULL;
}
