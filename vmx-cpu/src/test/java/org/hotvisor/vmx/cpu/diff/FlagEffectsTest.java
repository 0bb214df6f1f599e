package org.hotvisor.vmx.cpu.diff;

import static org.hotvisor.vmx.cpu.diff.FlagEffects.AF;
import static org.hotvisor.vmx.cpu.diff.FlagEffects.CF;
import static org.hotvisor.vmx.cpu.diff.FlagEffects.OF;
import static org.hotvisor.vmx.cpu.diff.FlagEffects.PF;
import static org.hotvisor.vmx.cpu.diff.FlagEffects.SF;
import static org.hotvisor.vmx.cpu.diff.FlagEffects.STATUS;
import static org.hotvisor.vmx.cpu.diff.FlagEffects.ZF;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.hotvisor.vmx.cpu.diff.FlagEffects.Effect;
import org.hotvisor.vmx.cpu.diff.FlagEffects.ShiftKind;
import org.junit.jupiter.api.Test;

/** The undefined-flag bookkeeping that decides which EFLAGS bits a case compares. */
class FlagEffectsTest {

    @Test
    void aShiftByZeroTouchesNoFlag() {
        assertEquals(new Effect(0, 0, 0), FlagEffects.shift(ShiftKind.SHL, 32, 0));
        assertEquals(new Effect(0, 0, 0), FlagEffects.shift(ShiftKind.SHR, 8, 32));   // masked to 0
        assertEquals(new Effect(CF, 0, 0), FlagEffects.shift(ShiftKind.RCL, 16, 0));  // still reads CF
    }

    @Test
    void overflowIsDefinedOnlyForCountOne() {
        assertEquals(OF, FlagEffects.shift(ShiftKind.SAR, 32, 1).written() & OF);
        assertEquals(OF, FlagEffects.shift(ShiftKind.SAR, 32, 2).undefined() & OF);
        assertEquals(OF, FlagEffects.shift(ShiftKind.ROL, 8, 33).written() & OF);     // 33 & 31 = 1
    }

    @Test
    void shlAndShrLeaveCarryUndefinedFromTheOperandWidthOn() {
        assertEquals(CF, FlagEffects.shift(ShiftKind.SHL, 8, 7).written() & CF);
        assertEquals(CF, FlagEffects.shift(ShiftKind.SHL, 8, 8).undefined() & CF);
        assertEquals(CF, FlagEffects.shift(ShiftKind.SHR, 16, 20).undefined() & CF);
        assertEquals(CF, FlagEffects.shift(ShiftKind.SAR, 8, 20).written() & CF);
        assertEquals(AF, FlagEffects.shift(ShiftKind.SHL, 32, 3).undefined() & AF);
    }

    @Test
    void rotatesKeepTheArithmeticFlags() {
        Effect rotate = FlagEffects.shift(ShiftKind.ROR, 32, 5);
        assertEquals(0, (rotate.written() | rotate.undefined()) & (SF | ZF | AF | PF));
    }

    @Test
    void doubleShiftBeyondTheOperandSizeIsUndefined() {
        assertEquals(STATUS, FlagEffects.doubleShift(16, 17).undefined());
        assertEquals(0, FlagEffects.doubleShift(16, 16).undefined() & CF);
        assertEquals(new Effect(0, 0, 0), FlagEffects.doubleShift(32, 32));
    }

    @Test
    void undefinedFlagsPropagateUntilWritten() {
        int afterMul = FlagEffects.MULTIPLY.apply(0);
        assertEquals(SF | ZF | AF | PF, afterMul);
        int afterAdd = FlagEffects.ARITHMETIC.apply(afterMul);
        assertEquals(0, afterAdd);
        assertEquals(SF | ZF | AF | PF, FlagEffects.CARRY_WRITE.apply(afterMul));
        assertEquals(FlagEffects.COMPARED & ~(SF | ZF | AF | PF), FlagEffects.comparedMask(afterMul));
    }
}
