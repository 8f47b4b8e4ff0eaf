/* sim_tls.c - throw-away PKI for cupi-sim's HTTPS.
 *
 * A private CA plus a server certificate signed by it, rather than one
 * self-signed certificate: strict verifiers (webpki, OpenSSL's X509_STRICT)
 * refuse a CA certificate presented as the end entity, and tests must verify
 * TLS for real with the CA written by --write-ca, exactly as against a lab
 * Unity Connection whose certificate was issued by a company CA.
 */
#include "sim.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define VALID_SECONDS (10L * 365 * 24 * 3600)
#define BACKDATE_SECONDS 3600 /* tolerate clients whose clock is a bit behind */

typedef struct pki_item {
    gnutls_x509_privkey_t key;
    gnutls_x509_crt_t crt;
    unsigned char key_id[64];
    size_t key_id_len;
} pki_item;

#define CHECK(expr)                                                                            \
    do {                                                                                       \
        int rc_ = (expr);                                                                      \
        if (rc_ < 0) {                                                                         \
            snprintf(err, errsz, "%s: %s", #expr, gnutls_strerror(rc_));                       \
            return -1;                                                                         \
        }                                                                                      \
    } while (0)

static void pki_item_free(pki_item *p)
{
    if (p->crt)
        gnutls_x509_crt_deinit(p->crt);
    if (p->key)
        gnutls_x509_privkey_deinit(p->key);
}

/* Fields both certificates share: key, serial, validity, subject, SKI. */
static int pki_item_new(pki_item *p, const char *cn, char *err, size_t errsz)
{
    CHECK(gnutls_x509_privkey_init(&p->key));
    CHECK(gnutls_x509_privkey_generate(p->key, GNUTLS_PK_ECDSA,
                                       GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0));
    CHECK(gnutls_x509_crt_init(&p->crt));
    CHECK(gnutls_x509_crt_set_version(p->crt, 3));

    /* RFC 5280: positive, at most 20 octets; random so that two runs never
     * issue the same issuer+serial with different contents. */
    unsigned char serial[16];
    CHECK(gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial));
    serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x40);
    CHECK(gnutls_x509_crt_set_serial(p->crt, serial, sizeof serial));

    time_t now = time(NULL);
    CHECK(gnutls_x509_crt_set_activation_time(p->crt, now - BACKDATE_SECONDS));
    CHECK(gnutls_x509_crt_set_expiration_time(p->crt, now + VALID_SECONDS));
    CHECK(gnutls_x509_crt_set_dn_by_oid(p->crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
                                        (unsigned)strlen(cn)));
    CHECK(gnutls_x509_crt_set_dn_by_oid(p->crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0,
                                        "cupi-sim", (unsigned)strlen("cupi-sim")));
    CHECK(gnutls_x509_crt_set_key(p->crt, p->key));

    p->key_id_len = sizeof p->key_id;
    CHECK(gnutls_x509_crt_get_key_id(p->crt, GNUTLS_KEYID_USE_SHA1, p->key_id, &p->key_id_len));
    CHECK(gnutls_x509_crt_set_subject_key_id(p->crt, p->key_id, p->key_id_len));
    return 0;
}

static int add_ip_san(gnutls_x509_crt_t crt, const char *ip, char *err, size_t errsz)
{
    unsigned char raw[16];
    unsigned len;
    if (inet_pton(AF_INET, ip, raw) == 1)
        len = 4;
    else if (inet_pton(AF_INET6, ip, raw) == 1)
        len = 16;
    else
        return 0; /* not an address literal: nothing to certify */
    CHECK(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, raw, len,
                                               GNUTLS_FSAN_APPEND));
    return 0;
}

static int export_crt(gnutls_x509_crt_t crt, char **out, char *err, size_t errsz)
{
    gnutls_datum_t d = {NULL, 0};
    CHECK(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d));
    *out = strndup((const char *)d.data, d.size);
    gnutls_free(d.data);
    if (!*out) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    return 0;
}

static int export_key(gnutls_x509_privkey_t key, char **out, char *err, size_t errsz)
{
    gnutls_datum_t d = {NULL, 0};
    CHECK(gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &d));
    *out = strndup((const char *)d.data, d.size);
    explicit_bzero(d.data, d.size);
    gnutls_free(d.data);
    if (!*out) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    return 0;
}

static int build(pki_item *ca, pki_item *leaf, const char *extra_ip, char *err, size_t errsz)
{
    if (pki_item_new(ca, "cupi-sim test CA", err, errsz) != 0)
        return -1;
    CHECK(gnutls_x509_crt_set_basic_constraints(ca->crt, 1, 0));
    CHECK(gnutls_x509_crt_set_key_usage(ca->crt, GNUTLS_KEY_KEY_CERT_SIGN |
                                                     GNUTLS_KEY_CRL_SIGN |
                                                     GNUTLS_KEY_DIGITAL_SIGNATURE));
    CHECK(gnutls_x509_crt_set_authority_key_id(ca->crt, ca->key_id, ca->key_id_len));
    CHECK(gnutls_x509_crt_sign2(ca->crt, ca->crt, ca->key, GNUTLS_DIG_SHA256, 0));

    if (pki_item_new(leaf, "localhost", err, errsz) != 0)
        return -1;
    CHECK(gnutls_x509_crt_set_basic_constraints(leaf->crt, 0, -1));
    CHECK(gnutls_x509_crt_set_key_usage(leaf->crt, GNUTLS_KEY_DIGITAL_SIGNATURE));
    CHECK(gnutls_x509_crt_set_key_purpose_oid(leaf->crt, GNUTLS_KP_TLS_WWW_SERVER, 0));
    CHECK(gnutls_x509_crt_set_subject_alt_name(leaf->crt, GNUTLS_SAN_DNSNAME, "localhost",
                                               (unsigned)strlen("localhost"),
                                               GNUTLS_FSAN_APPEND));
    if (add_ip_san(leaf->crt, "127.0.0.1", err, errsz) != 0 ||
        add_ip_san(leaf->crt, "::1", err, errsz) != 0)
        return -1;
    if (extra_ip && strcmp(extra_ip, "127.0.0.1") != 0 && strcmp(extra_ip, "::1") != 0 &&
        add_ip_san(leaf->crt, extra_ip, err, errsz) != 0)
        return -1;
    CHECK(gnutls_x509_crt_set_authority_key_id(leaf->crt, ca->key_id, ca->key_id_len));
    CHECK(gnutls_x509_crt_sign2(leaf->crt, ca->crt, ca->key, GNUTLS_DIG_SHA256, 0));
    return 0;
}

int sim_tls_generate(const char *extra_ip, char **chain_pem, char **key_pem, char **ca_pem,
                     char *err, size_t errsz)
{
    pki_item ca = {0}, leaf = {0};
    char *leaf_pem = NULL, *ca_text = NULL, *key_text = NULL;
    int rc = -1;

    *chain_pem = *key_pem = *ca_pem = NULL;
    if (build(&ca, &leaf, extra_ip, err, errsz) != 0 ||
        export_crt(leaf.crt, &leaf_pem, err, errsz) != 0 ||
        export_crt(ca.crt, &ca_text, err, errsz) != 0 ||
        export_key(leaf.key, &key_text, err, errsz) != 0)
        goto done;

    /* The server sends leaf then CA, as a real server sends its chain. */
    size_t ll = strlen(leaf_pem), cl = strlen(ca_text);
    char *chain = malloc(ll + cl + 1);
    if (!chain) {
        snprintf(err, errsz, "out of memory");
        goto done;
    }
    memcpy(chain, leaf_pem, ll);
    memcpy(chain + ll, ca_text, cl + 1);

    *chain_pem = chain;
    *ca_pem = ca_text;
    *key_pem = key_text;
    ca_text = key_text = NULL;
    rc = 0;
done:
    free(leaf_pem);
    free(ca_text);
    sim_free_secret(key_text);
    pki_item_free(&leaf);
    pki_item_free(&ca); /* deinit also wipes the CA key: it is never needed again */
    return rc;
}
