// A JVM that prints "ready" and sleeps: for runtime detection (run as `java JvmSleeper.java`).
public class JvmSleeper {
    public static void main(String[] args) throws InterruptedException {
        System.out.println("ready");
        System.out.flush();
        Thread.sleep(300_000L);
    }
}
