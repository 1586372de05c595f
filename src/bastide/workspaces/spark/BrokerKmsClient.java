// Parquet modular encryption on Spark with Bastide's keys (KEY-01, KEY-03).
//
// Spark's Parquet reader and writer ask a KmsClient to wrap each file's key and to unwrap it
// again. This one asks Bastide's key broker (bastide/keys/broker.py) over HTTP, with the
// engine session's access token: the data keys never enter the JVM, only the file keys of the
// files being read or written, and only for the keys the broker granted to that token. The
// wrapped form is pyarrow's (base64 of nonce + AES-256-GCM), so either side reads the other's files.
package org.bastide.kms;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;

import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.crypto.KeyAccessDeniedException;
import org.apache.parquet.crypto.ParquetCryptoRuntimeException;
import org.apache.parquet.crypto.keytools.KmsClient;

public class BrokerKmsClient implements KmsClient {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private String url;
    private String token;

    @Override
    public void initialize(Configuration configuration, String kmsInstanceID, String kmsInstanceURL, String accessToken)
            throws KeyAccessDeniedException {
        // the broker's address comes from the session's configuration, whatever a file's key material says
        url = configuration.getTrimmed("parquet.encryption.kms.instance.url", kmsInstanceURL);
        token = accessToken;
        if (url == null || !url.startsWith("http")) {
            throw new ParquetCryptoRuntimeException("parquet.encryption.kms.instance.url must be the key broker's URL");
        }
    }

    @Override
    public String wrapKey(byte[] keyBytes, String masterKeyIdentifier) throws KeyAccessDeniedException {
        return call("wrap", masterKeyIdentifier, Base64.getEncoder().encodeToString(keyBytes));
    }

    @Override
    public byte[] unwrapKey(String wrappedKey, String masterKeyIdentifier) throws KeyAccessDeniedException {
        return Base64.getDecoder().decode(call("unwrap", masterKeyIdentifier, wrappedKey));
    }

    private String call(String operation, String keyId, String body) throws KeyAccessDeniedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create(url + "/" + operation))
                .timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + token)
                .header("X-Bastide-Key", keyId)
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.US_ASCII))
                .build();
        HttpResponse<String> response;
        try {
            response = HTTP.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.US_ASCII));
        } catch (Exception e) {
            throw new ParquetCryptoRuntimeException("the key broker at " + url + " cannot be reached: " + e.getMessage());
        }
        if (response.statusCode() == 403) {
            throw new KeyAccessDeniedException("key " + keyId + ": " + response.body());
        }
        if (response.statusCode() != 200) {
            throw new ParquetCryptoRuntimeException("key " + keyId + ": broker answered " + response.statusCode()
                    + " " + response.body());
        }
        return response.body();
    }
}
