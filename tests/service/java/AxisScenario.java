// A 凭证库 client exactly as the published Axis 1.x clients are written (S2 VoucherService.java):
// org.apache.axis.client.Call, setOperationName, invoke(new Object[]{...}), no generated stubs.
// Usage: java AxisScenario FIN_URL PBC_URL ENVELOPE_FILE READ_OUT_FILE VOUCHER_NO
import java.nio.file.Files;
import java.nio.file.Paths;
import java.rmi.RemoteException;
import java.util.Map;

import org.apache.axis.client.Call;
import org.apache.axis.client.Service;

public class AxisScenario {
    static Call call(String url) throws Exception {
        Call call = (Call) new Service().createCall();
        call.setTargetEndpointAddress(url);
        return call;
    }

    static String status(String fin, String no) throws Exception {
        Call c = call(fin + "/realware/services/AsspFinanceService");
        c.setOperationName("batchQueryAllVoucherStatus");
        Map map = (Map) c.invoke(new Object[] {"001", "420000", 2024, "5201", new String[] {no}});
        Object[] pair = (Object[]) map.get(no);
        return pair[0] + "|" + pair[1];
    }

    public static void main(String[] args) throws Exception {
        String fin = args[0], pbc = args[1], no = args[4];
        byte[] envelope = Files.readAllBytes(Paths.get(args[2]));
        String stamp = "<Root><Stamp No=\"cz_qm\"></Stamp><Stamp No=\"cz_gz\">finance-seal-00</Stamp></Root>";

        Call send = call(fin + "/realware/services/AsspFinanceService");
        send.setOperationName("signStampByNosAndSend");
        Map sent = (Map) send.invoke(new Object[] {"001", "420000", 2024, "5201", envelope, stamp, "011", "001"});
        System.out.println("SENT " + sent.keySet());

        byte[] read = null;
        for (int i = 0; i < 300 && read == null; i++) {
            Call r = call(pbc + "/realware/services/AsspCBankService");
            r.setOperationName("readVoucherAgain");
            read = (byte[]) r.invoke(new Object[] {"001", "420000", 2024, "5201", 100});
            if (read == null) Thread.sleep(100);
        }
        Files.write(Paths.get(args[3]), read);
        System.out.println("READ " + read.length + " " + new String(read, "GBK").contains("<MOF>"));

        Call confirm = call(pbc + "/realware/services/AsspCBankService");
        confirm.setOperationName("confirmVoucher");
        confirm.invoke(new Object[] {"001", "420000", 2024, "5201", new String[] {no}});

        String st = status(fin, no);
        for (int i = 0; i < 300 && !st.startsWith("3|"); i++) { Thread.sleep(100); st = status(fin, no); }
        System.out.println("STATUS " + st);

        Call ret = call(pbc + "/realware/services/AsspCBankService");
        ret.setOperationName("returnVoucher");
        ret.invoke(new Object[] {"001", "420000", 2024, "5201", new String[] {no}, new String[] {"收款人账号错误"}});
        st = status(fin, no);
        for (int i = 0; i < 300 && !st.startsWith("5|"); i++) { Thread.sleep(100); st = status(fin, no); }
        System.out.println("STATUS " + st);

        Call positions = call(fin + "/realware/services/AsspFinanceService");
        positions.setOperationName("queryStampPositionWithName");
        Map names = (Map) positions.invoke(new Object[] {"001", "420000", 2024, "5201"});
        System.out.println("POSITION cz_gz=" + names.get("cz_gz"));

        Call bad = call(fin + "/realware/services/AsspFinanceService");
        bad.setOperationName("batchQueryAllVoucherStatus");
        try {
            bad.invoke(new Object[] {"001", "420000", 20, "5201", new String[] {no}});
            System.out.println("FAULT none");
        } catch (RemoteException e) {
            // exactly what the published clients do with the message
            String err = e.getMessage().substring(e.getMessage().indexOf("Exception:") + "Exception:".length(), e.getMessage().length());
            System.out.println("FAULT " + err);
        }
    }
}
