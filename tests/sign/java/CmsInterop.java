// Independent SM2 CMS verifier and producer for ezhifu's interop tests (Bouncy Castle 1.72).
//
//   java CmsInterop JOBS.txt
//
// runs one job per line of JOBS.txt (one JVM start for many jobs keeps the tests fast) and
// prints one result line per job, in order:
//
//   verify SIG.der CONTENT                          -> "OK <digest oid> <signature oid> attrs|noattrs"
//                                                      or "FAIL <why>"
//   sign CONTENT KEY.pem CERT.pem OUT.der [attrs] [ber]
//                                                   -> detached SM3withSM2 CMS, "SIGNED"; without
//                                                      "attrs" a direct signature (no signed
//                                                      attributes); "ber" writes getEncoded() (BER)
//
// SM3withSM2 in Bouncy Castle uses the GM/T 0009-2012 default signer ID 1234567812345678.
// The signer certificate is taken from the CMS itself (as a relying party would), so this checks
// the cryptography and the structure; trust is ezhifu's business.

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Security;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Collection;

import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.CMSSignedData;
import org.bouncycastle.cms.CMSSignedDataGenerator;
import org.bouncycastle.cms.SignerInformation;
import org.bouncycastle.cms.jcajce.JcaSignerInfoGeneratorBuilder;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoVerifierBuilder;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.bouncycastle.util.Store;

public final class CmsInterop {
    private CmsInterop() {}

    private static byte[] pemBody(String path, String label) throws Exception {
        String text = new String(Files.readAllBytes(Paths.get(path)), "US-ASCII");
        String begin = "-----BEGIN " + label + "-----";
        String end = "-----END " + label + "-----";
        int a = text.indexOf(begin);
        int b = text.indexOf(end);
        if (a < 0 || b < 0) {
            throw new IllegalArgumentException(path + ": no " + label + " block");
        }
        return Base64.getMimeDecoder().decode(text.substring(a + begin.length(), b));
    }

    @SuppressWarnings("unchecked")
    private static String verify(String sigPath, String contentPath) throws Exception {
        byte[] content = Files.readAllBytes(Paths.get(contentPath));
        CMSSignedData signed = new CMSSignedData(new CMSProcessableByteArray(content),
                Files.readAllBytes(Paths.get(sigPath)));
        Store<X509CertificateHolder> certs = signed.getCertificates();
        Collection<SignerInformation> signers = signed.getSignerInfos().getSigners();
        if (signers.size() != 1) {
            return "FAIL " + signers.size() + " signers";
        }
        SignerInformation signer = signers.iterator().next();
        Collection<X509CertificateHolder> matches = certs.getMatches(signer.getSID());
        if (matches.isEmpty()) {
            return "FAIL no signer certificate";
        }
        X509CertificateHolder holder = matches.iterator().next();
        if (!signer.verify(new JcaSimpleSignerInfoVerifierBuilder().setProvider("BC").build(holder))) {
            return "FAIL signature";
        }
        return "OK " + signer.getDigestAlgOID() + " " + signer.getEncryptionAlgOID()
                + (signer.getSignedAttributes() == null ? " noattrs" : " attrs");
    }

    private static String sign(String contentPath, String keyPath, String certPath, String outPath,
                            boolean attrs, boolean ber) throws Exception {
        byte[] content = Files.readAllBytes(Paths.get(contentPath));
        PrivateKey key = KeyFactory.getInstance("EC", "BC")
                .generatePrivate(new PKCS8EncodedKeySpec(pemBody(keyPath, "PRIVATE KEY")));
        X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509", "BC")
                .generateCertificate(new ByteArrayInputStream(pemBody(certPath, "CERTIFICATE")));
        ContentSigner contentSigner = new JcaContentSignerBuilder("SM3withSM2").setProvider("BC").build(key);
        JcaSignerInfoGeneratorBuilder builder = new JcaSignerInfoGeneratorBuilder(
                new JcaDigestCalculatorProviderBuilder().setProvider("BC").build());
        builder.setDirectSignature(!attrs);
        CMSSignedDataGenerator generator = new CMSSignedDataGenerator();
        generator.addSignerInfoGenerator(builder.build(contentSigner, cert));
        generator.addCertificate(new JcaX509CertificateHolder(cert));
        CMSSignedData signed = generator.generate(new CMSProcessableByteArray(content), false);
        Files.write(Paths.get(outPath), ber ? signed.getEncoded() : signed.getEncoded("DER"));
        return "SIGNED";
    }

    private static String run(String[] job) {
        try {
            if (job.length == 3 && job[0].equals("verify")) {
                return verify(job[1], job[2]);
            }
            if (job.length >= 5 && job[0].equals("sign")) {
                boolean attrs = false;
                boolean ber = false;
                for (int i = 5; i < job.length; i++) {
                    attrs |= job[i].equals("attrs");
                    ber |= job[i].equals("ber");
                }
                return sign(job[1], job[2], job[3], job[4], attrs, ber);
            }
            return "FAIL bad job";
        } catch (Exception e) {
            return "FAIL " + e.getClass().getSimpleName() + ": " + String.valueOf(e.getMessage()).replace('\n', ' ');
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: CmsInterop JOBS.txt");
            System.exit(2);
        }
        Security.addProvider(new BouncyCastleProvider());
        for (String line : Files.readAllLines(Paths.get(args[0]))) {
            if (!line.isBlank()) {
                System.out.println(run(line.trim().split("\\s+")));
            }
        }
    }
}
