/*
 * blindlink's batch loops over OpenSSL's primitives, for the party-side hot path.
 *
 * Python pays about a microsecond for every call into a crypto library, and a list
 * owner makes millions of such calls: one HMAC per token, one AEAD seal per record.
 * These functions take whole columns as flat buffers and run the same primitives in
 * one C loop with the interpreter lock released:
 *
 *   hmac_sha256_many(key, offsets, data) -> bytes
 *       HMAC-SHA256 (RFC 2104) of each message data[offsets[i]:offsets[i+1]] under one
 *       key; 32 bytes per message, end to end. The keyed inner and outer states are
 *       computed once, so each message costs two SHA-256 compressions.
 *   hmac_sha256_joined(key, columns, separator, start, stop) -> (digests, present)
 *       The same HMAC of each row's components joined by a separator, read straight
 *       from Arrow string-view columns, so no message column is ever built.
 *   aes256gcm_seal_many(key, plaintexts, pt_len, aad, nonces) -> bytes
 *       AES-256-GCM of each pt_len-byte plaintext under one key and AAD with its own
 *       12-byte nonce; records nonce || ciphertext || tag, end to end.
 *   aes256gcm_open_many(key, records, pt_len, aad) -> (plaintexts, failed)
 *       The reverse: each record opened and its tag verified; a record that fails gets a
 *       zeroed plaintext slot (nothing unauthenticated is returned) and a 1 in `failed`.
 *   dense_codes(hashes) -> (codes, firsts)
 *       For a column's 64-bit value hashes: each row's code (0, 1, 2... in order of
 *       first appearance) and the row where each code first appears — the distinct
 *       values of a column and the way back to every row, in one pass over a hash table.
 *       Not cryptographic; the caller checks a second hash against collisions.
 *
 * The hashing and the cipher are OpenSSL's (SHA-256 and AES-GCM with the CPU's SHA and
 * AES instructions where present); only the loops and the HMAC padding are ours, and
 * tests compare every output with the standard library and with `cryptography`.
 * Nothing here logs or puts key or message bytes into an error.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#define BLOCK 64
#define DIGEST 32
#define NONCE 12
#define TAG 16
#define MAX_SEPARATOR 16 /* well below the 256-byte message buffer of the joined loop */

/* The HMAC inner and outer states after the key block (RFC 2104). */
static void
hmac_states(const Py_buffer *key, SHA256_CTX *inner, SHA256_CTX *outer)
{
    unsigned char pad[BLOCK];
    memset(pad, 0, BLOCK);
    if (key->len > BLOCK)
        SHA256((const unsigned char *)key->buf, (size_t)key->len, pad);
    else
        memcpy(pad, key->buf, (size_t)key->len);
    for (int i = 0; i < BLOCK; i++)
        pad[i] ^= 0x36;
    SHA256_Init(inner);
    SHA256_Update(inner, pad, BLOCK);
    for (int i = 0; i < BLOCK; i++)
        pad[i] ^= 0x36 ^ 0x5c;
    SHA256_Init(outer);
    SHA256_Update(outer, pad, BLOCK);
    OPENSSL_cleanse(pad, BLOCK);
}

static PyObject *
hmac_sha256_many(PyObject *self, PyObject *args)
{
    Py_buffer key, offsets, data;
    if (!PyArg_ParseTuple(args, "y*y*y*", &key, &offsets, &data))
        return NULL;
    PyObject *out = NULL;
    if (key.len == 0) {
        PyErr_SetString(PyExc_ValueError, "HMAC key is empty");
        goto done;
    }
    if (offsets.len % 8 != 0 || offsets.len < 8) {
        PyErr_SetString(PyExc_ValueError, "offsets must be n + 1 little-endian int64 values");
        goto done;
    }
    if ((uintptr_t)offsets.buf % _Alignof(int64_t) != 0) {
        PyErr_SetString(PyExc_ValueError, "offsets must be an aligned int64 buffer");
        goto done;
    }
    Py_ssize_t n = offsets.len / 8 - 1;
    const int64_t *off = (const int64_t *)offsets.buf;
    /* Every message must lie inside the data buffer: checked before any read. */
    if (off[0] < 0 || off[n] > (int64_t)data.len) {
        PyErr_SetString(PyExc_ValueError, "offsets point outside the data buffer");
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (off[i + 1] < off[i]) {
            PyErr_SetString(PyExc_ValueError, "offsets must not decrease");
            goto done;
        }
    }
    out = PyBytes_FromStringAndSize(NULL, n * DIGEST);
    if (out == NULL)
        goto done;
    unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(out);
    const unsigned char *msg = (const unsigned char *)data.buf;

    SHA256_CTX inner, outer;
    hmac_states(&key, &inner, &outer);

    Py_BEGIN_ALLOW_THREADS
    SHA256_CTX ctx;
    unsigned char inner_digest[DIGEST];
    for (Py_ssize_t i = 0; i < n; i++) {
        ctx = inner;
        SHA256_Update(&ctx, msg + off[i], (size_t)(off[i + 1] - off[i]));
        SHA256_Final(inner_digest, &ctx);
        ctx = outer;
        SHA256_Update(&ctx, inner_digest, DIGEST);
        SHA256_Final(dst + (size_t)i * DIGEST, &ctx);
    }
    OPENSSL_cleanse(&ctx, sizeof ctx);
    OPENSSL_cleanse(inner_digest, DIGEST);
    Py_END_ALLOW_THREADS
    OPENSSL_cleanse(&inner, sizeof inner);
    OPENSSL_cleanse(&outer, sizeof outer);

done:
    PyBuffer_Release(&key);
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&data);
    return out;
}

/* One text column in Arrow's string-view layout (what polars hands over without a copy). */
typedef struct {
    Py_ssize_t offset;          /* the array's offset into its buffers */
    int required;               /* a null here means: no token for the row */
    int has_validity;
    Py_buffer validity;         /* bit per row, LSB first, or unused */
    Py_buffer views;            /* 16 bytes per row */
    Py_ssize_t n_data;
    Py_buffer *data;            /* the variadic data buffers */
} view_column;

static void
release_columns(view_column *cols, Py_ssize_t k)
{
    for (Py_ssize_t j = 0; j < k; j++) {
        if (cols[j].has_validity)
            PyBuffer_Release(&cols[j].validity);
        if (cols[j].views.obj != NULL)
            PyBuffer_Release(&cols[j].views);
        for (Py_ssize_t b = 0; b < cols[j].n_data; b++)
            PyBuffer_Release(&cols[j].data[b]);
        PyMem_Free(cols[j].data);
    }
    PyMem_Free(cols);
}

/* Parse (offset, required, validity|None, views, (data, ...)) tuples; 0 on error. */
static int
parse_columns(PyObject *seq, Py_ssize_t start, Py_ssize_t stop, view_column **out,
              Py_ssize_t *count)
{
    PyObject *fast = PySequence_Fast(seq, "columns must be a sequence");
    if (fast == NULL)
        return 0;
    Py_ssize_t k = PySequence_Fast_GET_SIZE(fast);
    view_column *cols = PyMem_Calloc(k > 0 ? k : 1, sizeof(view_column));
    if (cols == NULL) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return 0;
    }
    Py_ssize_t parsed = 0;
    for (Py_ssize_t j = 0; j < k; j++) {
        PyObject *validity, *data;
        view_column *c = &cols[j];
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(fast, j), "npOy*O", &c->offset,
                              &c->required, &validity, &c->views, &data))
            goto fail;
        parsed = j + 1;
        if (validity != Py_None) {
            if (PyObject_GetBuffer(validity, &c->validity, PyBUF_SIMPLE) != 0)
                goto fail;
            c->has_validity = 1;
        }
        if (c->offset < 0 || c->offset > PY_SSIZE_T_MAX / 16 - stop
            || (c->offset + stop) * 16 > c->views.len
            || (c->has_validity && (c->offset + stop + 7) / 8 > c->validity.len)) {
            PyErr_SetString(PyExc_ValueError, "a column is shorter than the rows asked for");
            goto fail;
        }
        PyObject *dfast = PySequence_Fast(data, "data buffers must be a sequence");
        if (dfast == NULL)
            goto fail;
        Py_ssize_t nd = PySequence_Fast_GET_SIZE(dfast);
        c->data = PyMem_Calloc(nd > 0 ? nd : 1, sizeof(Py_buffer));
        if (c->data == NULL) {
            Py_DECREF(dfast);
            PyErr_NoMemory();
            goto fail;
        }
        for (Py_ssize_t b = 0; b < nd; b++) {
            if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(dfast, b), &c->data[b],
                                   PyBUF_SIMPLE) != 0) {
                Py_DECREF(dfast);
                goto fail;
            }
            c->n_data = b + 1;
        }
        Py_DECREF(dfast);
    }
    (void)start;
    Py_DECREF(fast);
    *out = cols;
    *count = k;
    return 1;
fail:
    Py_DECREF(fast);
    release_columns(cols, parsed > 0 ? parsed : 0);
    return 0;
}

/*
 * hmac_sha256_joined(key, columns, separator, start, stop) -> (digests, present)
 *
 * For rows start..stop-1: HMAC-SHA256 of the row's components joined by `separator`,
 * read straight from string-view columns (no message is ever materialized). A null
 * optional component counts as empty; a null required component gives no token:
 * present[i] = 0. Returns the digests of the rows with a token, 32 bytes each in row
 * order, and one flag byte per row.
 */
static PyObject *
hmac_sha256_joined(PyObject *self, PyObject *args)
{
    Py_buffer key, sep;
    PyObject *columns;
    Py_ssize_t start, stop;
    if (!PyArg_ParseTuple(args, "y*Oy*nn", &key, &columns, &sep, &start, &stop))
        return NULL;
    PyObject *result = NULL, *digests = NULL, *present = NULL;
    view_column *cols = NULL;
    Py_ssize_t k = 0;
    if (key.len == 0 || start < 0 || stop < start) {
        PyErr_SetString(PyExc_ValueError, "empty key or bad row range");
        goto done;
    }
    if (sep.len > MAX_SEPARATOR) {
        PyErr_SetString(PyExc_ValueError, "the separator is longer than 16 bytes");
        goto done;
    }
    if (!parse_columns(columns, start, stop, &cols, &k))
        goto done;
    Py_ssize_t n = stop - start;
    digests = PyBytes_FromStringAndSize(NULL, n * DIGEST);
    present = PyBytes_FromStringAndSize(NULL, n);
    if (digests == NULL || present == NULL)
        goto done;
    unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(digests);
    unsigned char *flag = (unsigned char *)PyBytes_AS_STRING(present);
    SHA256_CTX inner, outer;
    hmac_states(&key, &inner, &outer);
    int corrupt = 0;
    Py_ssize_t kept = 0;

    Py_BEGIN_ALLOW_THREADS
    SHA256_CTX ctx;
    unsigned char inner_digest[DIGEST];
    unsigned char message[256];
    for (Py_ssize_t r = 0; r < n && !corrupt; r++) {
        Py_ssize_t row = start + r;
        int skip = 0;
        Py_ssize_t used = 0;
        ctx = inner;
        for (Py_ssize_t j = 0; j < k; j++) {
            const view_column *c = &cols[j];
            Py_ssize_t at = c->offset + row;
            const unsigned char *ptr = NULL;
            int32_t len = 0;
            int valid = !c->has_validity
                        || ((((const unsigned char *)c->validity.buf)[at >> 3] >> (at & 7)) & 1);
            if (valid) {
                const unsigned char *view = (const unsigned char *)c->views.buf + at * 16;
                memcpy(&len, view, 4);
                if (len < 0) {
                    corrupt = 1;
                    break;
                }
                if (len <= 12) {
                    ptr = view + 4;
                } else {
                    int32_t buf_index, buf_offset;
                    memcpy(&buf_index, view + 8, 4);
                    memcpy(&buf_offset, view + 12, 4);
                    if (buf_index < 0 || buf_index >= c->n_data || buf_offset < 0
                        || (Py_ssize_t)buf_offset + len > c->data[buf_index].len) {
                        corrupt = 1;
                        break;
                    }
                    ptr = (const unsigned char *)c->data[buf_index].buf + buf_offset;
                }
            } else if (c->required) {
                skip = 1;
                break;
            }
            /* Short messages are gathered in a local buffer and hashed in one call;
             * whatever does not fit goes to SHA-256 directly. */
            if (j > 0) {
                if (used + sep.len > (Py_ssize_t)sizeof message) {
                    SHA256_Update(&ctx, message, (size_t)used);
                    used = 0;
                }
                memcpy(message + used, sep.buf, (size_t)sep.len);
                used += sep.len;
            }
            if (len > 0) {
                if (used + len > (Py_ssize_t)sizeof message) {
                    SHA256_Update(&ctx, message, (size_t)used);
                    used = 0;
                    SHA256_Update(&ctx, ptr, (size_t)len);
                } else {
                    memcpy(message + used, ptr, (size_t)len);
                    used += len;
                }
            }
        }
        if (skip || corrupt) {
            flag[r] = 0;
            continue;
        }
        if (used > 0)
            SHA256_Update(&ctx, message, (size_t)used);
        SHA256_Final(inner_digest, &ctx);
        ctx = outer;
        SHA256_Update(&ctx, inner_digest, DIGEST);
        SHA256_Final(dst + (size_t)kept * DIGEST, &ctx);
        flag[r] = 1;
        kept++;
    }
    OPENSSL_cleanse(&ctx, sizeof ctx);
    OPENSSL_cleanse(inner_digest, DIGEST);
    OPENSSL_cleanse(message, sizeof message);
    Py_END_ALLOW_THREADS
    OPENSSL_cleanse(&inner, sizeof inner);
    OPENSSL_cleanse(&outer, sizeof outer);
    if (corrupt) {
        PyErr_SetString(PyExc_ValueError, "a string view points outside its data buffers");
        goto done;
    }
    if (_PyBytes_Resize(&digests, kept * DIGEST) != 0)
        goto done;
    result = PyTuple_Pack(2, digests, present);

done:
    Py_XDECREF(digests);
    Py_XDECREF(present);
    if (cols != NULL)
        release_columns(cols, k);
    PyBuffer_Release(&key);
    PyBuffer_Release(&sep);
    return result;
}

/* The checks both AES-GCM loops make: a 32-byte key, a record length OpenSSL's int
 * lengths can take, associated data likewise. 0 with a ValueError set when one fails. */
static int
gcm_arguments(const Py_buffer *key, Py_ssize_t pt_len, const Py_buffer *aad)
{
    if (key->len != 32) {
        PyErr_SetString(PyExc_ValueError, "AES-256-GCM needs a 32-byte key");
        return 0;
    }
    if (pt_len <= 0 || pt_len > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "plaintext buffer is not a whole number of records");
        return 0;
    }
    if (aad->len > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "associated data is too long");
        return 0;
    }
    return 1;
}

/* An AES-256-GCM context for 12-byte nonces with the key set (encrypt = 1 to seal,
 * 0 to open), or NULL; each record then only sets its nonce. Callable without the GIL. */
static EVP_CIPHER_CTX *
gcm_context(const unsigned char *key, int encrypt)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx != NULL
        && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, encrypt) == 1
        && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE, NULL) == 1
        && EVP_CipherInit_ex(ctx, NULL, NULL, key, NULL, encrypt) == 1)
        return ctx;
    EVP_CIPHER_CTX_free(ctx);
    return NULL;
}

static PyObject *
aes256gcm_seal_many(PyObject *self, PyObject *args)
{
    Py_buffer key, plaintexts, aad, nonces;
    Py_ssize_t pt_len;
    if (!PyArg_ParseTuple(args, "y*y*ny*y*", &key, &plaintexts, &pt_len, &aad, &nonces))
        return NULL;
    PyObject *out = NULL;
    if (!gcm_arguments(&key, pt_len, &aad))
        goto done;
    if (plaintexts.len % pt_len != 0) {
        PyErr_SetString(PyExc_ValueError, "plaintext buffer is not a whole number of records");
        goto done;
    }
    Py_ssize_t n = plaintexts.len / pt_len;
    if (nonces.len != n * NONCE) {
        PyErr_SetString(PyExc_ValueError, "need one 12-byte nonce per record");
        goto done;
    }
    Py_ssize_t rec = NONCE + pt_len + TAG;
    out = PyBytes_FromStringAndSize(NULL, n * rec);
    if (out == NULL)
        goto done;
    unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(out);
    const unsigned char *src = (const unsigned char *)plaintexts.buf;
    const unsigned char *nonce = (const unsigned char *)nonces.buf;
    int ok = 1;

    Py_BEGIN_ALLOW_THREADS
    EVP_CIPHER_CTX *ctx = gcm_context((const unsigned char *)key.buf, 1);
    ok = ctx != NULL;
    for (Py_ssize_t i = 0; ok && i < n; i++) {
        unsigned char *r = dst + (size_t)i * (size_t)rec;
        int len = 0;
        memcpy(r, nonce + (size_t)i * NONCE, NONCE);
        ok = EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, r) == 1
             && (aad.len == 0
                 || EVP_EncryptUpdate(ctx, NULL, &len, (const unsigned char *)aad.buf,
                                      (int)aad.len) == 1)
             && EVP_EncryptUpdate(ctx, r + NONCE, &len, src + (size_t)i * (size_t)pt_len,
                                  (int)pt_len) == 1
             && len == (int)pt_len
             && EVP_EncryptFinal_ex(ctx, r + NONCE + pt_len, &len) == 1
             && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG, r + NONCE + pt_len) == 1;
    }
    EVP_CIPHER_CTX_free(ctx);
    Py_END_ALLOW_THREADS

    if (!ok) {
        Py_CLEAR(out);
        PyErr_SetString(PyExc_RuntimeError, "AES-256-GCM encryption failed");
    }

done:
    PyBuffer_Release(&key);
    PyBuffer_Release(&plaintexts);
    PyBuffer_Release(&aad);
    PyBuffer_Release(&nonces);
    return out;
}

static PyObject *
aes256gcm_open_many(PyObject *self, PyObject *args)
{
    Py_buffer key, records, aad;
    Py_ssize_t pt_len;
    if (!PyArg_ParseTuple(args, "y*y*ny*", &key, &records, &pt_len, &aad))
        return NULL;
    PyObject *out = NULL, *failed = NULL, *result = NULL;
    if (!gcm_arguments(&key, pt_len, &aad))
        goto done;
    Py_ssize_t rec = NONCE + pt_len + TAG;
    if (records.len % rec != 0) {
        PyErr_SetString(PyExc_ValueError, "sealed buffer is not a whole number of records");
        goto done;
    }
    Py_ssize_t n = records.len / rec;
    out = PyBytes_FromStringAndSize(NULL, n * pt_len);
    failed = PyBytes_FromStringAndSize(NULL, n);
    if (out == NULL || failed == NULL)
        goto done;
    unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(out);
    unsigned char *bad = (unsigned char *)PyBytes_AS_STRING(failed);
    const unsigned char *src = (const unsigned char *)records.buf;
    int ready = 0;

    Py_BEGIN_ALLOW_THREADS
    EVP_CIPHER_CTX *ctx = gcm_context((const unsigned char *)key.buf, 0);
    ready = ctx != NULL;
    for (Py_ssize_t i = 0; ready && i < n; i++) {
        const unsigned char *r = src + (size_t)i * (size_t)rec;
        unsigned char *plain = dst + (size_t)i * (size_t)pt_len;
        unsigned char tag[TAG];
        unsigned char tail[16];
        int len = 0;
        memcpy(tag, r + NONCE + pt_len, TAG);
        int ok = EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, r) == 1
                 && (aad.len == 0
                     || EVP_DecryptUpdate(ctx, NULL, &len, (const unsigned char *)aad.buf,
                                          (int)aad.len) == 1)
                 && EVP_DecryptUpdate(ctx, plain, &len, r + NONCE, (int)pt_len) == 1
                 && len == (int)pt_len
                 && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG, tag) == 1
                 && EVP_DecryptFinal_ex(ctx, tail, &len) == 1;
        bad[i] = (unsigned char)!ok;
        if (!ok)
            OPENSSL_cleanse(plain, (size_t)pt_len); /* never hand out unverified bytes */
    }
    EVP_CIPHER_CTX_free(ctx);
    Py_END_ALLOW_THREADS

    if (!ready) {
        PyErr_SetString(PyExc_RuntimeError, "AES-256-GCM could not be set up");
        goto done;
    }
    result = Py_BuildValue("(OO)", out, failed);

done:
    Py_XDECREF(out);
    Py_XDECREF(failed);
    PyBuffer_Release(&key);
    PyBuffer_Release(&records);
    PyBuffer_Release(&aad);
    return result;
}

/* Open addressing over 64-bit hashes that are already well mixed: the low bits index
 * the table, kept at most half full. `slot_code` holds code + 1 (0: empty). */
typedef struct {
    uint64_t *keys;
    uint32_t *slot_code;
    size_t mask;
} code_table;

static int
table_alloc(code_table *t, size_t capacity)
{
    t->keys = (uint64_t *)malloc(capacity * sizeof(uint64_t));
    t->slot_code = (uint32_t *)calloc(capacity, sizeof(uint32_t));
    t->mask = capacity - 1;
    return t->keys != NULL && t->slot_code != NULL;
}

static void
table_free(code_table *t)
{
    free(t->keys);
    free(t->slot_code);
}

static void
table_put(code_table *t, uint64_t key, uint32_t code)
{
    size_t i = (size_t)key & t->mask;
    while (t->slot_code[i] != 0)
        i = (i + 1) & t->mask;
    t->keys[i] = key;
    t->slot_code[i] = code + 1;
}

static PyObject *
dense_codes(PyObject *self, PyObject *args)
{
    Py_buffer hashes;
    if (!PyArg_ParseTuple(args, "y*", &hashes))
        return NULL;
    PyObject *result = NULL, *codes_out = NULL;
    uint32_t *firsts = NULL;
    if (hashes.len % 8 != 0 || (uintptr_t)hashes.buf % _Alignof(uint64_t) != 0) {
        PyErr_SetString(PyExc_ValueError, "hashes must be an aligned uint64 buffer");
        goto done;
    }
    Py_ssize_t n = hashes.len / 8;
    if ((uint64_t)n >= UINT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "too many rows for 32-bit codes");
        goto done;
    }
    codes_out = PyBytes_FromStringAndSize(NULL, n * 4);
    if (codes_out == NULL)
        goto done;
    uint32_t *codes = (uint32_t *)PyBytes_AS_STRING(codes_out);
    const uint64_t *h = (const uint64_t *)hashes.buf;
    size_t firsts_cap = 1024;
    firsts = (uint32_t *)malloc(firsts_cap * sizeof(uint32_t));
    code_table table;
    int ok = firsts != NULL && table_alloc(&table, 2048);
    uint32_t distinct = 0;

    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t row = 0; ok && row < n; row++) {
        uint64_t key = h[row];
        size_t i = (size_t)key & table.mask;
        uint32_t found = 0;
        while (table.slot_code[i] != 0) {
            if (table.keys[i] == key) {
                found = table.slot_code[i];
                break;
            }
            i = (i + 1) & table.mask;
        }
        if (found) {
            codes[row] = found - 1;
            continue;
        }
        if (distinct == firsts_cap) {
            uint32_t *grown = (uint32_t *)realloc(firsts, 2 * firsts_cap * sizeof(uint32_t));
            if (grown == NULL) {
                ok = 0;
                break;
            }
            firsts = grown;
            firsts_cap *= 2;
        }
        firsts[distinct] = (uint32_t)row;
        codes[row] = distinct;
        table.keys[i] = key;
        table.slot_code[i] = distinct + 1;
        distinct++;
        if ((size_t)distinct * 2 > table.mask + 1) { /* keep the table at most half full */
            code_table bigger;
            if (!table_alloc(&bigger, (table.mask + 1) * 4)) {
                table_free(&bigger);
                ok = 0;
                break;
            }
            for (uint32_t c = 0; c < distinct; c++)
                table_put(&bigger, h[firsts[c]], c);
            table_free(&table);
            table = bigger;
        }
    }
    if (firsts != NULL)
        table_free(&table);
    Py_END_ALLOW_THREADS

    if (!ok) {
        PyErr_NoMemory();
        goto done;
    }
    PyObject *firsts_out = PyBytes_FromStringAndSize((const char *)firsts, (Py_ssize_t)distinct * 4);
    if (firsts_out == NULL)
        goto done;
    result = Py_BuildValue("(NN)", codes_out, firsts_out);
    codes_out = NULL; /* now owned by the tuple */

done:
    Py_XDECREF(codes_out);
    free(firsts);
    PyBuffer_Release(&hashes);
    return result;
}

static PyMethodDef methods[] = {
    {"hmac_sha256_many", hmac_sha256_many, METH_VARARGS,
     "hmac_sha256_many(key, offsets, data) -> 32 bytes per message, end to end"},
    {"hmac_sha256_joined", hmac_sha256_joined, METH_VARARGS,
     "hmac_sha256_joined(key, columns, separator, start, stop) -> (digests, present)"},
    {"aes256gcm_seal_many", aes256gcm_seal_many, METH_VARARGS,
     "aes256gcm_seal_many(key, plaintexts, pt_len, aad, nonces) -> nonce||ct||tag records"},
    {"aes256gcm_open_many", aes256gcm_open_many, METH_VARARGS,
     "aes256gcm_open_many(key, records, pt_len, aad) -> (plaintexts, failed flags)"},
    {"dense_codes", dense_codes, METH_VARARGS,
     "dense_codes(hashes) -> (uint32 code per row, uint32 first row per code)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "hashing._native",
    "Batch loops for the party-side hot path: HMAC, AES-GCM sealing, distinct codes.", -1,
    methods,
};

PyMODINIT_FUNC
PyInit__native(void)
{
    return PyModule_Create(&module);
}
