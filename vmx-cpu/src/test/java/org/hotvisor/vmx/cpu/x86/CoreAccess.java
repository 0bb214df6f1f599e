package org.hotvisor.vmx.cpu.x86;

/** Test-only access to core state that no architectural path reaches, for tests in other packages. */
public final class CoreAccess {
    private CoreAccess() {
    }

    /**
     * Sets IA32_XSS directly. WRMSR accepts no bit (the core has no supervisor state component),
     * so this is the only way to show the XSAVES/XRSTORS exit encodings of SDM 3C 26.1.3.
     */
    public static void setXss(X86Core core, long value) {
        core.sys.xss = value;
    }
}
