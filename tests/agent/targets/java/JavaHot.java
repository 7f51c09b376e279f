import java.util.ArrayList;
import java.util.List;

// A JVM for the Java actions: a hot method on a thread named "wfhost-burner", an allocating loop
// on "wfhost-allocator" keeping a ring of 20,000 live Order objects, and with "deadlock" as its first
// argument two threads, "locker-a" and "locker-b", deadlocked on two monitors ("lock-deadlock":
// "ledger-a" and "ledger-b" on two ReentrantLocks). Prints "ready" once every thread runs.
public class JavaHot {
    static volatile long sink;
    static final Object LEFT = new Object();
    static final Object RIGHT = new Object();

    static final class Order {
        final byte[] payload;
        final long id;

        Order(long id) {
            this.id = id;
            this.payload = new byte[256];
        }
    }

    static long burnCpu(long seed) {
        long x = seed;
        for (int i = 0; i < 1_000_000; i++) {
            x = x * 6364136223846793005L + 1442695040888963407L;
            x ^= (x >>> 17);
        }
        return x;
    }

    static void allocateOrders() {
        List<Order> kept = new ArrayList<>();
        long id = 0;
        while (true) {
            // A ring of 20,000 live orders: the oldest is replaced, so a heap histogram taken at
            // any moment finds them all alive.
            Order order = new Order(id++);
            if (kept.size() < 20_000) {
                kept.add(order);
            } else {
                kept.set((int) (id % 20_000), order);
            }
            if (id % 1000 == 0) {
                sleepQuietly(1);
            }
        }
    }

    static void lockBoth(Object first, Object second, java.util.concurrent.CountDownLatch both) {
        synchronized (first) {
            both.countDown();
            try {
                both.await();
            } catch (InterruptedException e) {
                return;
            }
            synchronized (second) {
                sink++;
            }
        }
    }

    static void lockBoth(java.util.concurrent.locks.Lock first, java.util.concurrent.locks.Lock second,
            java.util.concurrent.CountDownLatch both) {
        first.lock();
        try {
            both.countDown();
            both.await();
            second.lock();
            sink++;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            first.unlock();
        }
    }

    static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public static void main(String[] args) throws Exception {
        Thread burner = new Thread(() -> {
            long seed = 1;
            while (true) {
                sink = burnCpu(seed++);
            }
        }, "wfhost-burner");
        burner.setDaemon(true);
        burner.start();
        Thread allocator = new Thread(JavaHot::allocateOrders, "wfhost-allocator");
        allocator.setDaemon(true);
        allocator.start();
        if (args.length > 0 && args[0].equals("deadlock")) {
            java.util.concurrent.CountDownLatch both = new java.util.concurrent.CountDownLatch(2);
            Thread a = new Thread(() -> lockBoth(LEFT, RIGHT, both), "locker-a");
            Thread b = new Thread(() -> lockBoth(RIGHT, LEFT, both), "locker-b");
            a.setDaemon(true);
            b.setDaemon(true);
            a.start();
            b.start();
            while (a.getState() != Thread.State.BLOCKED || b.getState() != Thread.State.BLOCKED) {
                Thread.sleep(10);
            }
        }
        if (args.length > 0 && args[0].equals("lock-deadlock")) {
            java.util.concurrent.locks.Lock left = new java.util.concurrent.locks.ReentrantLock();
            java.util.concurrent.locks.Lock right = new java.util.concurrent.locks.ReentrantLock();
            java.util.concurrent.CountDownLatch both = new java.util.concurrent.CountDownLatch(2);
            Thread a = new Thread(() -> lockBoth(left, right, both), "ledger-a");
            Thread b = new Thread(() -> lockBoth(right, left, both), "ledger-b");
            a.setDaemon(true);
            b.setDaemon(true);
            a.start();
            b.start();
            while (a.getState() != Thread.State.WAITING || b.getState() != Thread.State.WAITING) {
                Thread.sleep(10);
            }
        }
        System.out.println("ready");
        System.out.flush();
        Thread.sleep(600_000L);
    }
}
